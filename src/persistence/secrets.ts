import { readPath } from '../machine/refs.js';

/**
 * How secret values are kept in a store: `seal` turns a value into text (encrypt it), `open` turns it back.
 * Without it secrets are replaced by `[redacted]`, and a resumed run sees that text instead.
 *
 * @example
 * ```ts
 * const engine = createEngine({ store, secrets: { seal: (v) => encrypt(v), open: (t) => decrypt(t) } });
 * ```
 */
export interface SecretsHook {
  seal(value: string): string;
  open(sealed: string): string;
}

/** Marks a sealed value in stored JSON. */
const SEALED = '$flowstate.sealed';
export const REDACTED = '[redacted]';

/** The secret string values of a run: what the definition's secret paths point at in its input. */
export function secretValues(paths: readonly string[] | undefined, input: unknown): Set<string> {
  const values = new Set<string>();
  for (const path of paths ?? []) {
    const value = readPath({ input }, path.startsWith('input') ? path : `input.${path}`);
    if (typeof value === 'string' && value.length > 0) values.add(value);
  }
  return values;
}

/** JSON text of a value with every occurrence of a secret string sealed (or redacted), wherever it sits. */
export function stringifySealed(
  value: unknown,
  secrets: ReadonlySet<string>,
  hook: SecretsHook | undefined,
): string {
  if (secrets.size === 0) return JSON.stringify(value);
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && secrets.has(v) ? (hook ? { [SEALED]: hook.seal(v) } : REDACTED) : v,
  );
}

/** Parses stored JSON, opening sealed secrets. */
export function parseSealed(text: string, hook: SecretsHook | undefined): unknown {
  if (!text.includes(SEALED)) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && SEALED in v) {
      const sealed = (v as Record<string, unknown>)[SEALED];
      return hook && typeof sealed === 'string' ? hook.open(sealed) : REDACTED;
    }
    return v;
  });
}

/** A value with its secrets sealed, as plain JSON data (only copied when there are secrets). */
export function sealValue<T>(value: T, secrets: ReadonlySet<string>, hook: SecretsHook | undefined): T {
  return secrets.size === 0 || value === undefined
    ? value
    : (JSON.parse(stringifySealed(value, secrets, hook)) as T);
}

/** A stored value with its sealed secrets opened. */
export function openValue<T>(value: T, hook: SecretsHook | undefined): T {
  return value === undefined ? value : (parseSealed(JSON.stringify(value), hook) as T);
}
