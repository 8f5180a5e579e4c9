/**
 * What reading a workflow's JSON form remembers so that writing it back gives the same JSON (and the same
 * version): the JSON Schema each zod schema came from and the nodes whose defaults were left out. The reader
 * (json-read.ts) records, the writer (json-write.ts) and the version hash (version.ts) look up; this file imports
 * no definition code, so the writer and the version stay below `createDefinition`, which the reader needs.
 * The two small helpers reader and writer share (`compact`, `reason`) live here for the same reason.
 */
import type { ZodType } from 'zod';
import type { WorkflowNode } from '../model/definition.js';
import type { JSONSchemaObjectJSON } from './json-schema.js';

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

/** The JSON Schema a zod schema was read from, if `fromJSON` made it. */
export function sourceSchemaOf(schema: ZodType): JSONSchemaObjectJSON | undefined {
  const source = SOURCE_SCHEMAS.get(schema);
  return source === undefined ? undefined : structuredClone(source);
}

/** Whether a node read from JSON got its `failFast`, `onMaxIterations` or `onTimeout` by default. */
export function hasImplicitDefault(node: WorkflowNode): boolean {
  return IMPLICIT_DEFAULTS.has(node);
}

/** Records the JSON Schema a zod schema was read from (a copy: the caller's document may change). */
export function rememberSourceSchema(schema: ZodType, json: JSONSchemaObjectJSON): void {
  SOURCE_SCHEMAS.set(schema, structuredClone(json));
}

/** Records that a node read from JSON got its `failFast`, `onMaxIterations` or `onTimeout` by default. */
export function markImplicitDefault(node: WorkflowNode): void {
  IMPLICIT_DEFAULTS.add(node);
}

/** The object without its `undefined` keys: the JSON form and the spec both leave unset options out. */
export function compact<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** An error's message, bounded: it may quote input from outside. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown reason';
}
