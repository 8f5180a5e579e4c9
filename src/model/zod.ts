/**
 * zod without importing it: the package loads zod only when it builds a schema of its own (reading a workflow
 * from JSON, checking a decision passed to `resolveEscalation`). Users' schemas come with their own zod, and are
 * handled through their methods and zod's instance marks.
 */
import type { ZodType, z } from 'zod';
import { lazyRequire } from '../lazy.js';

/**
 * zod, loaded on the first call (its CommonJS build: zod 4 keeps its global registry and config on `globalThis`,
 * and its `instanceof` checks read instance marks, so schemas from either build mix).
 *
 * @example
 * ```ts
 * const schema = zod().z.strictObject({ id: zod().z.string() });
 * ```
 */
export const zod: () => typeof import('zod') = lazyRequire('zod');

/**
 * Whether a value is a zod (classic) schema, exactly as `value instanceof ZodType` answers, without loading zod.
 *
 * @example
 * ```ts
 * if (isZodType(value)) hash(jsonSchemaOf(value, { unrepresentable: 'any' }));
 * ```
 */
export function isZodType(value: unknown): value is ZodType {
  // zod's `Symbol.hasInstance`: the instance's `_zod.traits` names every class it was built as.
  const traits = (value as { _zod?: { traits?: { has?: unknown } } } | null | undefined)?._zod?.traits;
  return typeof traits?.has === 'function' && (traits as ReadonlySet<string>).has('ZodType');
}

/**
 * `z.toJSONSchema(schema, params)`, through the schema's own `toJSONSchema` method so zod need not be loaded. The
 * method gives the same document whenever it succeeds; when it throws (a schema with parts that lack their own
 * JSON Schema processor), zod's function is tried, so the result and the error are zod's in every case.
 *
 * @example
 * ```ts
 * jsonSchemaOf(z.object({ a: z.string() }), { io: 'input' }); // { type: 'object', ... }
 * ```
 */
export function jsonSchemaOf(schema: ZodType, params: z.core.ToJSONSchemaParams): unknown {
  // A schema cast to ZodType from elsewhere (zod/mini, zod/v4/core) has no such method.
  if (typeof (schema as Partial<ZodType>).toJSONSchema === 'function') {
    try {
      return schema.toJSONSchema(params);
    } catch {
      // zod's own function below gives the answer, or the error to report.
    }
  }
  return zod().z.toJSONSchema(schema, params);
}
