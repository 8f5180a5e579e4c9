import { createHash } from 'node:crypto';
import type { ZodType } from 'zod';
import type { WorkflowSpec } from '../model/definition.js';
import { isZodType, jsonSchemaOf } from '../model/zod.js';
import { sourceSchemaOf } from './json-source.js';

/**
 * A stable hash of a definition: the same tree gives the same version, in any process.
 * Inline functions count by their source text, zod schemas by the JSON Schema the definition's JSON form holds
 * for them, so a definition and its round trip through JSON (`fromJSON(def.toJSON())`) have the same version.
 */
export function versionOf(spec: WorkflowSpec): string {
  return createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value === 'function') return JSON.stringify(`fn:${value.toString()}`);
  if (isZodType(value)) return canonical(schemaForm(value));
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

/**
 * What a zod schema counts as: the JSON Schema that `toJSON` writes for it (the document it was read from, for a
 * schema made by `fromJSON`; else zod's input side). JSON keeps neither transforms nor a pipe's output, so a schema
 * with one also counts by its output side: it differs from its round trip, and a change there changes the version.
 * A schema JSON Schema cannot express counts by what zod can say of both sides.
 */
function schemaForm(schema: ZodType): unknown {
  const source = sourceSchemaOf(schema);
  if (source !== undefined) return source;
  let transforms = false;
  try {
    const input = jsonSchemaOf(schema, {
      io: 'input',
      override: ({ zodSchema }) => {
        const type = zodSchema._zod.def.type;
        if (type === 'pipe' || type === 'transform') transforms = true;
      },
    });
    return transforms ? { 'zod:input': input, 'zod:output': loose(schema, 'output') } : input;
  } catch {
    return { 'zod:unrepresentable': { input: loose(schema, 'input'), output: loose(schema, 'output') } };
  }
}

function loose(schema: ZodType, io: 'input' | 'output'): unknown {
  try {
    return jsonSchemaOf(schema, { io, unrepresentable: 'any' });
  } catch {
    return 'zod:unrepresentable';
  }
}
