/**
 * zod helpers for users' schemas. Schemas from another copy of zod (or zod/mini) are recognised too: zod's
 * `instanceof` reads the instance's marks, and `z.toJSONSchema` reads the schema's internals.
 */
import { type ZodType, z } from 'zod';

/**
 * Whether a value is a zod (classic) schema: `value instanceof ZodType`.
 *
 * @example
 * ```ts
 * if (isZodType(value)) hash(jsonSchemaOf(value, { unrepresentable: 'any' }));
 * ```
 */
export function isZodType(value: unknown): value is ZodType {
  return value instanceof z.ZodType;
}

/**
 * `z.toJSONSchema(schema, params)`: the JSON Schema document of a zod schema, or zod's error.
 *
 * @example
 * ```ts
 * jsonSchemaOf(z.object({ a: z.string() }), { io: 'input' }); // { type: 'object', ... }
 * ```
 */
export function jsonSchemaOf(schema: ZodType, params: z.core.ToJSONSchemaParams): unknown {
  return z.toJSONSchema(schema, params);
}
