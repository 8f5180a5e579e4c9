/**
 * Writing a spec as its JSON form (`definition.toJSON()`); json.ts reads it back. Schemas and defaults read from
 * JSON are written as they were read (json-source.ts), so `fromJSON(j).toJSON()` deep-equals `j`.
 */
import type { ZodType } from 'zod';
import type {
  GuardRef,
  Mapping,
  StepOptions,
  WorkflowJSON,
  WorkflowNode,
  WorkflowSpec,
} from '../model/definition.js';
import { type DefinitionProblem, type IssuePath, WorkflowDefinitionError } from '../model/errors.js';
import { jsonSchemaOf } from '../model/zod.js';
import type {
  EscalationPolicyJSON,
  JSONSchemaObjectJSON,
  RetryPolicyJSON,
  StepOptionsJSON,
  WorkflowDocument,
  WorkflowNodeJSON,
} from './json-schema.js';
import { compact, hasImplicitDefault, reason, sourceSchemaOf } from './json-source.js';

/**
 * The JSON form of a spec: plain data with only the keys that are set, zod schemas as JSON Schema (the
 * input side, which is what they accept) and child workflows nested. Throws one `WorkflowDefinitionError`
 * listing every inline function (guards and mappings must be registered names or data paths to be written
 * down) and every schema JSON Schema cannot express.
 */
export function specToJSON(spec: WorkflowSpec): WorkflowJSON {
  const problems: DefinitionProblem[] = [];
  const json = writeWorkflow(spec, [], problems);
  if (problems.length > 0) throw new WorkflowDefinitionError(spec.id, problems);
  return json;
}

function writeWorkflow(spec: WorkflowSpec, path: IssuePath, problems: DefinitionProblem[]): WorkflowDocument {
  const options = spec.options;
  for (const [name, guard] of Object.entries(options.guards ?? {})) {
    if (typeof guard === 'function') {
      problems.push({
        code: 'inline-function',
        path: [...path, 'guards', name],
        message: `The workflow guard '${name}' is a function, which JSON cannot hold: register it with the engine as a guard and refer to it by name, or use a data path such as results.step.field`,
      });
    }
  }
  return compact<WorkflowDocument>({
    id: spec.id,
    description: options.description,
    onError: options.onError,
    input: writeSchema(options.input, [...path, 'input'], problems),
    output: writeSchema(options.output, [...path, 'output'], problems),
    result: writeRef(options.result, [...path, 'result'], 'mapping', problems),
    // Kept: a definition sent as JSON and read back must seal the same inputs (it stored them in clear).
    secrets: options.secrets && options.secrets.length > 0 ? [...options.secrets] : undefined,
    steps: writeNodes(spec.nodes, [...path, 'steps'], problems),
  });
}

function writeNodes(
  nodes: readonly WorkflowNode[],
  path: IssuePath,
  problems: DefinitionProblem[],
): WorkflowNodeJSON[] {
  return nodes.map((node, i) => writeNode(node, [...path, i], problems));
}

function writeNode(node: WorkflowNode, path: IssuePath, problems: DefinitionProblem[]): WorkflowNodeJSON {
  const implicit = hasImplicitDefault(node);
  switch (node.kind) {
    case 'step':
      return { kind: 'step', name: node.name, ...writeStepOptions(node.options, path, problems) };
    case 'parallel':
      return compact({
        kind: 'parallel',
        name: node.name,
        // fromEntries defines own properties, so even a region called `__proto__` stays a plain key.
        regions: Object.fromEntries(
          Object.entries(node.regions).map(([region, nodes]) => [
            region,
            writeNodes(nodes, [...path, 'regions', region], problems),
          ]),
        ),
        failFast: implicit ? undefined : node.failFast,
      });
    case 'branch':
      return compact({
        kind: 'branch',
        name: node.name,
        arms: node.arms.map((arm, i) => ({
          when: writeRef(arm.when, [...path, 'arms', i, 'when'], 'guard', problems) ?? '',
          steps: writeNodes(arm.nodes, [...path, 'arms', i, 'steps'], problems),
        })),
        otherwise: node.otherwise && writeNodes(node.otherwise, [...path, 'otherwise'], problems),
      });
    case 'map':
      return {
        kind: 'map',
        name: node.name,
        items: writeRef(node.items, [...path, 'items'], 'mapping', problems) ?? '',
        step: writeStepOptions(node.step, [...path, 'step'], problems),
        concurrency: node.concurrency,
      };
    case 'loop':
      return compact({
        kind: 'loop',
        name: node.name,
        steps: writeNodes(node.body, [...path, 'steps'], problems),
        until: writeRef(node.until, [...path, 'until'], 'guard', problems) ?? '',
        maxIterations: node.maxIterations,
        onMaxIterations: implicit ? undefined : node.onMaxIterations,
      });
    case 'wait':
      return compact({
        kind: 'wait',
        name: node.name,
        event: node.event,
        schema: writeSchema(node.schema, [...path, 'schema'], problems),
        timeoutMs: node.timeoutMs,
        onTimeout: implicit ? undefined : node.onTimeout,
      });
  }
}

function writeStepOptions(
  options: StepOptions,
  path: IssuePath,
  problems: DefinitionProblem[],
): StepOptionsJSON {
  const { retry, escalate, workflow } = options;
  return compact<StepOptionsJSON>({
    agent: options.agent,
    // The child's own spec, written in place, so that its problems carry their full path from this root.
    workflow: workflow && writeWorkflow(workflow.spec, [...path, 'workflow'], problems),
    input: writeRef(options.input, [...path, 'input'], 'mapping', problems),
    retry:
      retry &&
      compact<RetryPolicyJSON>({
        attempts: retry.attempts,
        backoff: retry.backoff,
        initialMs: retry.initialMs,
        maxMs: retry.maxMs,
        jitter: retry.jitter,
        retryOn: retry.retryOn && [...retry.retryOn],
      }),
    timeoutMs: options.timeoutMs,
    queue: options.queue,
    fallback: options.fallback,
    compensate: options.compensate,
    escalate:
      escalate === false
        ? false
        : escalate &&
          compact<EscalationPolicyJSON>({
            to: escalate.to,
            timeoutMs: escalate.timeoutMs,
            onTimeout: escalate.onTimeout,
          }),
    expectedMs: options.expectedMs,
    onError: options.onError,
    description: options.description,
  });
}

function writeRef(
  ref: Mapping | GuardRef | undefined,
  path: IssuePath,
  kind: 'guard' | 'mapping',
  problems: DefinitionProblem[],
): string | undefined {
  if (typeof ref !== 'function') return ref;
  problems.push({
    code: 'inline-function',
    path,
    message: `This ${kind} is an inline function, which JSON cannot hold: register it with the engine as a ${kind} and refer to it by name, or use a data path such as results.step.field`,
  });
  return undefined;
}

function writeSchema(
  schema: ZodType | undefined,
  path: IssuePath,
  problems: DefinitionProblem[],
): JSONSchemaObjectJSON | undefined {
  if (schema === undefined) return undefined;
  const source = sourceSchemaOf(schema);
  if (source !== undefined) return source;
  try {
    // The input side: these schemas validate data coming in, so what they accept is what must be kept.
    return jsonSchemaOf(schema, { io: 'input' }) as JSONSchemaObjectJSON;
  } catch (error) {
    problems.push({
      code: 'unrepresentable-schema',
      path,
      message: `This zod schema has no JSON Schema form (${reason(error)}): use only JSON types, or keep the definition in code`,
    });
    return undefined;
  }
}
