/**
 * What goes into a store goes as JSON text. A value from outside that JSON cannot hold (a BigInt, a circular
 * structure, nesting too deep for `JSON.stringify`, a `toJSON` that throws) is found when it is serialized, outside
 * any store transaction, and refused for its own run alone: inside a transaction it would fail the whole batch, the
 * writer would take that for a store fault and retry it forever, and every run of the engine would wait behind it.
 */
import type { IssuePath, ValidationIssue } from '../model/errors.js';

/** How many nodes the search for where a value's problem sits looks at, at most (only once a value was refused). */
const SEARCH_NODES = 10_000;
/** How deep that search goes: a path longer than this says nothing to a reader. */
const SEARCH_DEPTH = 64;

/** Why `JSON.stringify` refused a value, in words. */
export function unstorableReason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/call stack/i.test(message)) return 'it is nested too deep for JSON';
  if (/BigInt/i.test(message)) return 'a BigInt has no JSON form';
  if (/circular/i.test(message)) return 'it holds a circular structure';
  if (/string length/i.test(message)) return 'its JSON text is too long';
  return `JSON.stringify failed: ${message.split('\n')[0]}`;
}

/**
 * The validation issue of a value JSON cannot hold: where its problem sits when a short search finds it (a BigInt,
 * a circular reference), under `at`; else `at` itself.
 */
export function unstorableIssue(value: unknown, cause: unknown, at: IssuePath = []): ValidationIssue {
  return {
    path: [...at, ...(whereUnstorable(value) ?? [])],
    code: 'not_storable',
    message: `cannot be stored as JSON: ${unstorableReason(cause)}`,
  };
}

/** The issue of an input that is a function or a symbol: JSON has no text for it at all (not even `null`). */
export function noJsonForm(type: string): ValidationIssue {
  return { path: [], code: 'not_storable', message: `cannot be stored as JSON: a ${type} has no JSON form` };
}

/** The path of the first BigInt or circular reference in a value, if a bounded search finds one. */
function whereUnstorable(value: unknown): IssuePath | undefined {
  let budget = SEARCH_NODES;
  const onPath = new Set<object>();
  const walk = (node: unknown, path: (string | number)[]): IssuePath | undefined => {
    if (typeof node === 'bigint') return path;
    if (typeof node !== 'object' || node === null || --budget < 0 || path.length > SEARCH_DEPTH)
      return undefined;
    if (onPath.has(node)) return path;
    onPath.add(node);
    try {
      const entries: [string | number, unknown][] = Array.isArray(node)
        ? node.map((v, i) => [i, v])
        : Object.entries(node);
      for (const [key, child] of entries) {
        const found = walk(child, [...path, key]);
        if (found) return found;
      }
    } catch {
      // A getter that throws: nothing more to find here.
    } finally {
      onPath.delete(node);
    }
    return undefined;
  };
  return walk(value, []);
}
