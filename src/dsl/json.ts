/**
 * The JSON form of a definition: `specToJSON` (json-write.ts) writes it, {@link fromJSON} reads it back from
 * untrusted input. The two are exact inverses on valid JSON: `fromJSON(j).toJSON()` deep-equals `j`.
 */
import type { WorkflowDefinition } from '../model/definition.js';
import { type DefinitionProblem, WorkflowDefinitionError } from '../model/errors.js';
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
import { PatternGate } from './json-patterns.js';
import { readWorkflow } from './json-read.js';
import { WorkflowJSONSchema } from './json-schema.js';

/** Options of {@link fromJSON}: bounds on the untrusted input. */
export type FromJSONOptions = Partial<JSONLimits>;

/**
 * Reads a definition from its JSON form, a string or an already-parsed value, treating it as untrusted:
 * size, depth and value count are capped, prototype-reaching keys and non-JSON values are refused, unknown
 * keys are rejected, and nothing in it is ever evaluated. Throws a `WorkflowDefinitionError` listing every
 * problem with its path (and never anything else for bad input).
 *
 * `fromJSON(def.toJSON()).version === def.version`: a version hashes each zod schema by the JSON Schema the JSON
 * form holds for it. The JSON form itself always round-trips exactly.
 *
 * Embedded JSON Schemas may not use `$ref`: a reference cycle or a chain of shared references makes every
 * later validation recurse forever or take exponential time, and a definition from outside must not be able
 * to do that to the engine. For the same reason every `pattern` and `patternProperties` key must be at most 1,000
 * characters and shown safe from catastrophic backtracking (by recheck, loaded on the first pattern): `^(a+)+$` is
 * refused as an `unsafe-pattern` problem at its path, such as `input.properties.name.pattern`.
 *
 * @example
 * ```ts
 * const definition = fromJSON(await readFile('triage.workflow.json', 'utf8'));
 * const run = engine.start(definition, { dsn });
 *
 * // Tighter bounds for JSON posted by a client:
 * try {
 *   fromJSON(request.body, { maxBytes: 64 * 1024, maxDepth: 32 });
 * } catch (err) {
 *   if (err instanceof WorkflowDefinitionError) reply(400, err.problems); // [{ code, path, message }]
 *   else throw err;
 * }
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
  const spec = readWorkflow(parsed.data, [], problems, new PatternGate());
  // Problems found while reading (a bad JSON Schema, a broken child) come with the parent's own checks, so
  // one error lists everything; without them createDefinition runs the checks itself.
  if (problems.length > 0) throw new WorkflowDefinitionError(spec.id, [...problems, ...checkSpec(spec)]);
  return createDefinition(spec);
}
