/**
 * zod helpers for users' schemas, without importing zod: a user's schema is a zod object, and reading it needs only
 * its own methods and marks. Flowstate's import path stays free of zod (about 50 ms of a cold start); the user's
 * copy of zod is the one loaded, whatever its version. Schemas from another copy of zod (or zod/mini) are
 * recognised too.
 */
import { createRequire } from 'node:module';
import type { ZodType, z } from 'zod';

/** What `z.toJSONSchema` takes besides the schema. */
export type JSONSchemaParams = z.core.ToJSONSchemaParams;

/**
 * Whether a value is a zod (classic) schema: what `value instanceof ZodType` answers. zod's `instanceof` reads the
 * instance's marks (`_zod.traits`), so the same check here needs no copy of zod.
 *
 * @example
 * ```ts
 * if (isZodType(value)) hash(jsonSchemaOf(value, { unrepresentable: 'any' }));
 * ```
 */
export function isZodType(value: unknown): value is ZodType {
  const traits = (value as { _zod?: { traits?: { has?: unknown } } } | null | undefined)?._zod?.traits;
  return typeof traits?.has === 'function' && Boolean(traits.has('ZodType'));
}

/** A classic zod schema's own `toJSONSchema(params)` (zod 4.1 and later). */
type WithToJSONSchema = { toJSONSchema(params?: JSONSchemaParams): unknown };

let zodModule: typeof z | undefined;

/**
 * zod itself, for schemas without their own `toJSONSchema` method (zod/mini, older zod 4): loaded on first use, by
 * `require` because callers are synchronous (zod's CommonJS build: `z.toJSONSchema` reads any copy's internals).
 */
function zod(): typeof z {
  zodModule ??= (createRequire(import.meta.url)('zod') as { z: typeof z }).z;
  return zodModule;
}

/**
 * `z.toJSONSchema(schema, params)`: the JSON Schema document of a zod schema, or zod's error. A classic schema
 * converts itself (`schema.toJSONSchema(params)`, the same document); other schemas go through zod's function.
 *
 * @example
 * ```ts
 * jsonSchemaOf(z.object({ a: z.string() }), { io: 'input' }); // { type: 'object', ... }
 * ```
 */
export function jsonSchemaOf(schema: ZodType, params: JSONSchemaParams): unknown {
  const own = (schema as Partial<WithToJSONSchema>).toJSONSchema;
  if (typeof own === 'function') return own.call(schema, params);
  return zod().toJSONSchema(schema, params);
}
