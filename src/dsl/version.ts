import { createHash } from 'node:crypto';
import type { ZodType } from 'zod';
import type { WorkflowSpec } from '../model/definition.js';
import { isZodType, jsonSchemaOf } from '../model/zod.js';

/**
 * A stable hash of a definition: the same tree gives the same version, in any process.
 * Inline functions count by their source text, zod schemas by their JSON Schema.
 */
export function versionOf(spec: WorkflowSpec): string {
  return createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value === 'function') return JSON.stringify(`fn:${value.toString()}`);
  if (isZodType(value)) return canonical(safeJsonSchema(value));
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const v = value as { spec?: WorkflowSpec; version?: unknown };
    if (typeof v.version === 'string' && v.spec !== undefined) return JSON.stringify(`wf:${v.version}`);
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function safeJsonSchema(schema: ZodType): unknown {
  try {
    return jsonSchemaOf(schema, { unrepresentable: 'any' });
  } catch {
    return 'zod:unrepresentable';
  }
}
