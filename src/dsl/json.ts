/**
 * The JSON form of a definition: {@link specToJSON} writes it, {@link fromJSON} reads it back from untrusted input.
 * The two are exact inverses on valid JSON: `fromJSON(j).toJSON()` deep-equals `j`.
 */
import { fromJSONSchema, toJSONSchema, type ZodType, z } from 'zod';
import type {
  AnyWorkflowDefinition,
  EscalationPolicy,
  GuardRef,
  Mapping,
  RetryPolicy,
  StepOptions,
  WorkflowDefinition,
  WorkflowJSON,
  WorkflowNode,
  WorkflowOptions,
  WorkflowSpec,
} from '../model/definition.js';
import { type DefinitionProblem, type IssuePath, WorkflowDefinitionError } from '../model/errors.js';
import { checkSpec } from './checks.js';
import { createDefinition } from './definition.js';
import {
  capProblems,
  inspectJSON,
  type JSONLimits,
  resolveLimits,
  workflowIdOf,
  zodProblems,
} from './json-guard.js';
import {
  type JSONSchemaObjectJSON,
  type StepOptionsJSON,
  type WorkflowDocument,
  WorkflowJSONSchema,
  type WorkflowNodeJSON,
} from './json-schema.js';

/**
 * The JSON Schema each zod schema read by `fromJSON` came from. Writing that document back, rather than
 * `toJSONSchema` of the converted schema, is what keeps the round trip exact: the two conversions are not
 * inverses (`toJSONSchema` adds `$schema`, spells `additionalProperties` out, and so on).
 */
const SOURCE_SCHEMAS = new WeakMap<ZodType, JSONSchemaObjectJSON>();

/**
 * Nodes read from JSON that left out a key the spec requires (`failFast`, `onMaxIterations`, `onTimeout`) and
 * so got its default. Writing them back leaves the key out again, so `{ failFast: true }` and `{}` each
 * round-trip as written; both mean the same thing and hash to the same version.
 */
const IMPLICIT_DEFAULTS = new WeakSet<WorkflowNode>();

/** Options of {@link fromJSON}: bounds on the untrusted input. */
export type FromJSONOptions = Partial<JSONLimits>;

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

/**
 * Reads a definition from its JSON form, a string or an already-parsed value, treating it as untrusted:
 * size, depth and value count are capped, prototype-reaching keys and non-JSON values are refused, unknown
 * keys are rejected, and nothing in it is ever evaluated. Throws a `WorkflowDefinitionError` listing every
 * problem with its path (and never anything else for bad input).
 *
 * Embedded JSON Schemas may not use `$ref`: a reference cycle or a chain of shared references makes every
 * later validation recurse forever or take exponential time, and a definition from outside must not be able
 * to do that to the engine.
 *
 * @example
 * ```ts
 * const definition = fromJSON(await readFile('triage.workflow.json', 'utf8'));
 * engine.register(definition);
 * // or, with tighter bounds for input from a form:
 * fromJSON(body, { maxBytes: 64 * 1024, maxDepth: 32 });
 * ```
 */
export function fromJSON(json: unknown, options: FromJSONOptions = {}): WorkflowDefinition {
  const inspection = inspectJSON(json, resolveLimits(options));
  if (!inspection.ok) throw new WorkflowDefinitionError(workflowIdOf(json), inspection.problems);
  const parsed = WorkflowJSONSchema.safeParse(inspection.value);
  if (!parsed.success) {
    throw new WorkflowDefinitionError(
      workflowIdOf(inspection.value),
      capProblems(zodProblems(parsed.error.issues)),
    );
  }
  const problems: DefinitionProblem[] = [];
  const spec = readWorkflow(parsed.data, [], problems);
  // Problems found while reading (a bad JSON Schema, a broken child) come with the parent's own checks, so
  // one error lists everything; without them createDefinition runs the checks itself.
  if (problems.length > 0) throw new WorkflowDefinitionError(spec.id, [...problems, ...checkSpec(spec)]);
  return createDefinition(spec);
}

// ---------------------------------------------------------------------------------------------------------
// Writing

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
  const implicit = IMPLICIT_DEFAULTS.has(node);
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
    retry: retry && compact({ ...retry, retryOn: retry.retryOn && [...retry.retryOn] }),
    timeoutMs: options.timeoutMs,
    fallback: options.fallback,
    compensate: options.compensate,
    escalate: escalate === false ? false : escalate && compact({ ...escalate }),
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
  const source = SOURCE_SCHEMAS.get(schema);
  if (source !== undefined) return structuredClone(source);
  try {
    // The input side: these schemas validate data coming in, so what they accept is what must be kept.
    return toJSONSchema(schema, { io: 'input' }) as JSONSchemaObjectJSON;
  } catch (error) {
    problems.push({
      code: 'unrepresentable-schema',
      path,
      message: `This zod schema has no JSON Schema form (${reason(error)}): use only JSON types, or keep the definition in code`,
    });
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading (the document has passed the guard and zod, so only shapes zod allows reach here)

function readWorkflow(doc: WorkflowDocument, path: IssuePath, problems: DefinitionProblem[]): WorkflowSpec {
  const options = compact<WorkflowOptions>({
    input: readSchema(doc.input, [...path, 'input'], problems),
    output: readSchema(doc.output, [...path, 'output'], problems),
    result: doc.result,
    description: doc.description,
    onError: doc.onError,
  });
  return { id: doc.id, options, nodes: readNodes(doc.steps, [...path, 'steps'], problems) };
}

function readNodes(
  nodes: readonly WorkflowNodeJSON[],
  path: IssuePath,
  problems: DefinitionProblem[],
): WorkflowNode[] {
  return nodes.map((node, i) => readNode(node, [...path, i], problems));
}

function readNode(json: WorkflowNodeJSON, path: IssuePath, problems: DefinitionProblem[]): WorkflowNode {
  let node: WorkflowNode;
  let implicit = false;
  switch (json.kind) {
    case 'step':
      return { kind: 'step', name: json.name, options: readStepOptions(json, path, problems) };
    case 'parallel':
      implicit = json.failFast === undefined;
      node = {
        kind: 'parallel',
        name: json.name,
        regions: Object.fromEntries(
          Object.entries(json.regions).map(([region, nodes]) => [
            region,
            readNodes(nodes, [...path, 'regions', region], problems),
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
          nodes: readNodes(arm.steps, [...path, 'arms', i, 'steps'], problems),
        })),
        otherwise: json.otherwise && readNodes(json.otherwise, [...path, 'otherwise'], problems),
      };
    case 'map':
      return {
        kind: 'map',
        name: json.name,
        items: json.items,
        step: readStepOptions(json.step, [...path, 'step'], problems),
        concurrency: json.concurrency,
      };
    case 'loop':
      implicit = json.onMaxIterations === undefined;
      node = {
        kind: 'loop',
        name: json.name,
        body: readNodes(json.steps, [...path, 'steps'], problems),
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
        schema: readSchema(json.schema, [...path, 'schema'], problems),
        timeoutMs: json.timeoutMs,
        onTimeout: json.onTimeout ?? 'fail',
      };
      break;
  }
  if (implicit) IMPLICIT_DEFAULTS.add(node);
  return node;
}

function readStepOptions(json: StepOptionsJSON, path: IssuePath, problems: DefinitionProblem[]): StepOptions {
  // Keys are picked one by one: a step node's `kind` and `name` must not leak into its options.
  return compact<StepOptions>({
    agent: json.agent,
    workflow: json.workflow && readChild(json.workflow, [...path, 'workflow'], problems),
    input: json.input,
    retry: json.retry && compact<RetryPolicy>({ ...json.retry }),
    timeoutMs: json.timeoutMs,
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
): AnyWorkflowDefinition {
  const before = problems.length;
  const spec = readWorkflow(doc, path, problems);
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
  try {
    // A fresh registry: `$id`s and other metadata from outside must not land in (or clash in) zod's global one.
    const schema = fromJSONSchema(json as Parameters<typeof fromJSONSchema>[0], { registry: z.registry() });
    SOURCE_SCHEMAS.set(schema, structuredClone(json));
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

// ---------------------------------------------------------------------------------------------------------

/** The object without its `undefined` keys: the JSON form and the spec both leave unset options out. */
function compact<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown reason';
}
