import type { SerializedError } from './errors.js';

/** What a secret is replaced by where it cannot be sealed (log lines, error messages, stores without a hook). */
export const REDACTED = '[redacted]';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `text` contains one of `secrets` (empty strings are not secrets). */
export function containsSecret(text: string, secrets: Iterable<string>): boolean {
  for (const secret of secrets) if (secret.length > 0 && text.includes(secret)) return true;
  return false;
}

/**
 * `text` with every occurrence of every secret replaced by `[redacted]`, longest secrets first where they
 * overlap. Not reversible: for log lines and error messages. Returns `text` itself when it holds no secret.
 *
 * @example
 * ```ts
 * scrubSecrets('Bearer sk-123 rejected', new Set(['sk-123'])); // 'Bearer [redacted] rejected'
 * ```
 */
export function scrubSecrets(text: string, secrets: ReadonlySet<string>): string {
  if (secrets.size === 0 || text.length === 0) return text;
  let hits: string[] | undefined;
  for (const secret of secrets) {
    if (secret.length === 0 || !text.includes(secret)) continue;
    hits ??= [];
    hits.push(secret);
  }
  if (!hits) return text;
  if (hits.length === 1) return text.replaceAll(hits[0] as string, REDACTED);
  // One pass over an alternation, longest first: at each position the longest secret wins.
  hits.sort((a, b) => b.length - a.length);
  return text.replace(new RegExp(hits.map(escapeRegExp).join('|'), 'g'), REDACTED);
}

/**
 * A serialized error with the secrets scrubbed from its text fields (message, name, code, stack if any) and from
 * its causes. Returns `error` itself when nothing holds a secret, or when there are no secrets.
 */
export function scrubError(
  error: SerializedError,
  secrets: ReadonlySet<string> | undefined,
): SerializedError {
  if (!secrets || secrets.size === 0) return error;
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(error)) {
    const next =
      typeof value === 'string'
        ? scrubSecrets(value, secrets)
        : key === 'cause' && typeof value === 'object' && value !== null
          ? scrubError(value as SerializedError, secrets)
          : value;
    if (next === value) continue;
    out ??= { ...error };
    out[key] = next;
  }
  return (out as SerializedError | undefined) ?? error;
}
