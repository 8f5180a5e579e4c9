/**
 * Reading a workflow's JSON form into a spec, once the document has passed the guard and zod (so only shapes
 * zod allows reach here). What the writer needs to give the same JSON back it records in json-source.ts.
 */
import { type ZodType, z } from 'zod';
import type {
  AnyWorkflowDefinition,
  EscalationPolicy,
  RetryPolicy,
  StepOptions,
  WorkflowNode,
  WorkflowOptions,
  WorkflowSpec,
} from '../model/definition.js';
import { type DefinitionProblem, type IssuePath, WorkflowDefinitionError } from '../model/errors.js';
import { checkSpec } from './checks.js';
import { createDefinition } from './definition.js';
import type { PatternGate } from './json-patterns.js';
import type {
  JSONSchemaObjectJSON,
  StepOptionsJSON,
  WorkflowDocument,
  WorkflowNodeJSON,
} from './json-schema.js';
import { compact, markImplicitDefault, reason, rememberSourceSchema } from './json-source.js';

/**
 * A parsed document as a spec, with absolute problem paths from `path`. Problems that only show once the
 * document is read (an unreadable JSON Schema, a child workflow failing its checks) go to `problems`.
 */
export function readWorkflow(
  doc: WorkflowDocument,
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): WorkflowSpec {
  const options = compact<WorkflowOptions>({
    input: readSchema(doc.input, [...path, 'input'], problems, patterns),
    output: readSchema(doc.output, [...path, 'output'], problems, patterns),
    result: doc.result,
    description: doc.description,
    onError: doc.onError,
    secrets: doc.secrets,
  });
  return { id: doc.id, options, nodes: readNodes(doc.steps, [...path, 'steps'], problems, patterns) };
}

function readNodes(
  nodes: readonly WorkflowNodeJSON[],
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): WorkflowNode[] {
  return nodes.map((node, i) => readNode(node, [...path, i], problems, patterns));
}

function readNode(
  json: WorkflowNodeJSON,
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): WorkflowNode {
  let node: WorkflowNode;
  let implicit = false;
  switch (json.kind) {
    case 'step':
      return { kind: 'step', name: json.name, options: readStepOptions(json, path, problems, patterns) };
    case 'parallel':
      implicit = json.failFast === undefined;
      node = {
        kind: 'parallel',
        name: json.name,
        regions: Object.fromEntries(
          Object.entries(json.regions).map(([region, nodes]) => [
            region,
            readNodes(nodes, [...path, 'regions', region], problems, patterns),
          ]),
        ),
        failFast: json.failFast ?? true,
      };
      break;
    case 'branch':
      return {
        kind: 'branch',
        name: json.name,
        arms: json.arms.map((arm, i) => ({
          when: arm.when,
          nodes: readNodes(arm.steps, [...path, 'arms', i, 'steps'], problems, patterns),
        })),
        otherwise: json.otherwise && readNodes(json.otherwise, [...path, 'otherwise'], problems, patterns),
      };
    case 'map':
      return {
        kind: 'map',
        name: json.name,
        items: json.items,
        step: readStepOptions(json.step, [...path, 'step'], problems, patterns),
        concurrency: json.concurrency,
      };
    case 'loop':
      implicit = json.onMaxIterations === undefined;
      node = {
        kind: 'loop',
        name: json.name,
        body: readNodes(json.steps, [...path, 'steps'], problems, patterns),
        until: json.until,
        maxIterations: json.maxIterations,
        onMaxIterations: json.onMaxIterations ?? 'continue',
      };
      break;
    case 'wait':
      implicit = json.onTimeout === undefined;
      node = {
        kind: 'wait',
        name: json.name,
        event: json.event,
        schema: readSchema(json.schema, [...path, 'schema'], problems, patterns),
        timeoutMs: json.timeoutMs,
        onTimeout: json.onTimeout ?? 'fail',
      };
      break;
  }
  if (implicit) markImplicitDefault(node);
  return node;
}

function readStepOptions(
  json: StepOptionsJSON,
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): StepOptions {
  // Keys are picked one by one: a step node's `kind` and `name` must not leak into its options.
  return compact<StepOptions>({
    agent: json.agent,
    workflow: json.workflow && readChild(json.workflow, [...path, 'workflow'], problems, patterns),
    input: json.input,
    retry: json.retry && compact<RetryPolicy>({ ...json.retry }),
    timeoutMs: json.timeoutMs,
    queue: json.queue,
    fallback: json.fallback,
    compensate: json.compensate,
    escalate:
      json.escalate === false ? false : json.escalate && compact<EscalationPolicy>({ ...json.escalate }),
    expectedMs: json.expectedMs,
    onError: json.onError,
    description: json.description,
  });
}

/**
 * A child workflow becomes a definition of its own, checked on its own. When it is broken its problems are
 * reported under the step's path, and a stand-in takes its place so that the parent is still checked and
 * the one error lists everything; the stand-in never escapes, since the parent then throws.
 */
function readChild(
  doc: WorkflowDocument,
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): AnyWorkflowDefinition {
  const before = problems.length;
  const spec = readWorkflow(doc, path, problems, patterns);
  if (problems.length === before) {
    try {
      return createDefinition(spec);
    } catch (error) {
      if (!(error instanceof WorkflowDefinitionError)) throw error;
      problems.push(...error.problems.map((p) => ({ ...p, path: [...path, ...p.path] })));
    }
  } else {
    problems.push(...checkSpec(spec).map((p) => ({ ...p, path: [...path, ...p.path] })));
  }
  return Object.freeze({
    id: spec.id,
    description: undefined,
    spec,
    version: '',
  }) as unknown as AnyWorkflowDefinition;
}

function readSchema(
  json: JSONSchemaObjectJSON | undefined,
  path: IssuePath,
  problems: DefinitionProblem[],
  patterns: PatternGate,
): ZodType | undefined {
  if (json === undefined) return undefined;
  const ref = findRef(json, path);
  if (ref !== undefined) {
    problems.push({
      code: 'unsupported-json-schema',
      path: ref,
      message:
        '`$ref` is not accepted in a workflow read from JSON: a cycle or a chain of shared references can make validation loop or take exponential time. Write the schema out in full',
    });
    return undefined;
  }
  // Checked before zod compiles them: a pattern that can backtrack catastrophically never becomes a RegExp here.
  const unsafe = patterns.problems(json, path);
  if (unsafe.length > 0) {
    problems.push(...unsafe);
    return undefined;
  }
  try {
    // A fresh registry: `$id`s and other metadata from outside must not land in (or clash in) zod's global one.
    const schema = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0], {
      registry: z.registry(),
    });
    rememberSourceSchema(schema, json);
    return schema;
  } catch (error) {
    problems.push({
      code: 'invalid-json-schema',
      path,
      message: `This JSON Schema cannot be read: ${reason(error)}`,
    });
    return undefined;
  }
}

/** The path of the first `$ref` key in a JSON Schema (its depth is bounded by the guard). */
function findRef(value: unknown, path: IssuePath): IssuePath | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const here = [...path, Array.isArray(value) ? Number(key) : key];
    if (key === '$ref') return here;
    const found = findRef(child, here);
    if (found !== undefined) return found;
  }
  return undefined;
}
