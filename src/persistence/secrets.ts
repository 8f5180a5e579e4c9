import { readPath } from '../machine/refs.js';
import { containsSecret, REDACTED, scrubSecrets } from '../model/scrub.js';

export { REDACTED, scrubError, scrubSecrets } from '../model/scrub.js';

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
  /**
   * Encrypts a string that holds a secret (whole or inside larger text) before it is written to the store.
   * Called synchronously while checkpoints and journal entries are written, so keep it fast.
   */
  seal(value: string): string;
  /** Decrypts what `seal` returned, giving the exact string back, when a run is resumed or a journal is read. */
  open(sealed: string): string;
}

/** Marks a sealed value in stored JSON. */
const SEALED = '$flowstate.sealed';

/** The secrets of the many runs that have none: one shared set (an empty `Set` is about 150 bytes per run). */
const NO_SECRETS: ReadonlySet<string> = new Set();

/** The secret string values of a run: what the definition's secret paths point at in its input. */
export function secretValues(paths: readonly string[] | undefined, input: unknown): ReadonlySet<string> {
  if (!paths || paths.length === 0) return NO_SECRETS;
  const values = new Set<string>();
  for (const path of paths) {
    const value = readPath({ input }, path.startsWith('input') ? path : `input.${path}`);
    if (typeof value === 'string' && value.length > 0) values.add(value);
  }
  return values;
}

/**
 * JSON text of a value with every secret string sealed (or redacted), wherever it sits. A string that contains a
 * secret, whole or inside larger text (`Bearer <secret>`), is sealed whole with a hook, so {@link parseSealed}
 * gives it back exactly; without a hook each occurrence is replaced by `[redacted]`. Object keys holding a secret
 * are redacted (a key cannot be sealed).
 */
export function stringifySealed(
  value: unknown,
  secrets: ReadonlySet<string>,
  hook: SecretsHook | undefined,
): string {
  if (secrets.size === 0) return JSON.stringify(value);
  let marker: object | undefined;
  return JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (typeof v === 'string') {
      // The sealed text inside a marker just made is not looked at again (a hook's output may hold the secret).
      if (this === marker) return v;
      if (!hook) return scrubSecrets(v, secrets);
      if (!containsSecret(v, secrets)) return v;
      marker = { [SEALED]: hook.seal(v) };
      return marker;
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && v !== marker)
      return redactKeys(v, secrets);
    return v;
  });
}

/** The object itself, or a copy with its keys scrubbed when one holds a secret. */
function redactKeys(v: object, secrets: ReadonlySet<string>): object {
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const scrubbed = scrubSecrets(key, secrets);
    if (scrubbed === key && !out) continue;
    if (!out) {
      out = Object.create(null) as Record<string, unknown>;
      for (let j = 0; j < i; j++) out[keys[j] as string] = (v as Record<string, unknown>)[keys[j] as string];
    }
    out[scrubbed] = (v as Record<string, unknown>)[key];
  }
  return out ?? v;
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
