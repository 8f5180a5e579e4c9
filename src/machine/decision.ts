/**
 * Escalation decisions: what a supervisor agent returns, or `resolveEscalation` receives. Checked by hand, without
 * zod (which would put zod on the package's import path): {@link parseDecision} accepts what the zod schema
 * `z.discriminatedUnion('action', [strict retry, strict skip with an optional value, strict abort with an optional
 * reason of at most 1000 characters])` accepts, and {@link decisionIssues} explains a bad decision with the issues
 * that schema gives (same paths, codes and messages; tests hold both to the schema).
 */
import type { EscalationDecision } from '../model/agent.js';
import type { ValidationIssue } from '../model/errors.js';

/** The longest `reason` an `abort` decision may give, in Unicode code points (as zod measures strings). */
const MAX_REASON_LENGTH = 1000;

/** Whether a string has at most `max` code points; a pair of UTF-16 surrogates is one, a lone one counts alone. */
function fits(text: string, max: number): boolean {
  if (text.length <= max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

/** The keys each action allows, besides `action`. */
const OPTIONAL_KEYS: Readonly<Record<EscalationDecision['action'], string | undefined>> = {
  retry: undefined,
  skip: 'value',
  abort: 'reason',
};

/**
 * The decision, or `undefined` when the value is not a valid one. Accepts what the zod schema (see the top of
 * this file) accepts and returns what it would: a new object with `action` and, when the key is there, `value` (`skip`) or
 * `reason` (`abort`, a string of at most 1000 code points, or `undefined`).
 *
 * @example
 * ```ts
 * parseDecision({ action: 'skip', value: 42 }); // { action: 'skip', value: 42 }
 * parseDecision({ action: 'later' }); // undefined
 * ```
 */
export function parseDecision(value: unknown): EscalationDecision | undefined {
  // As zod reads an object: any non-array object, its keys read through the prototype chain, and in strict mode
  // every enumerable key (`for...in`, inherited ones too) must be known.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const input = value as Record<string, unknown>;
  const action = input.action;
  if (action !== 'retry' && action !== 'skip' && action !== 'abort') return undefined;
  const optional = OPTIONAL_KEYS[action];
  for (const key in input) {
    if (key !== 'action' && key !== optional) return undefined;
  }
  if (optional === undefined || !(optional in input)) return { action } as EscalationDecision;
  const extra = input[optional];
  if (action === 'abort' && extra !== undefined) {
    if (typeof extra !== 'string' || !fits(extra, MAX_REASON_LENGTH)) return undefined;
  }
  return { action, [optional]: extra } as EscalationDecision;
}

/** The actions, in the schema's order (zod's message lists them so). */
const ACTIONS = ['retry', 'skip', 'abort'] as const;

/**
 * The issues zod's schema of a decision gives for a value (none for a valid decision): the value is not an object,
 * its `action` is not one of the three, its `reason` is not a string of at most 1000 characters, or it has keys
 * its action does not allow. `resolveEscalation` puts them in its `InputValidationError`.
 *
 * @example
 * ```ts
 * decisionIssues({ action: 'abort', reason: 7 });
 * // [{ path: ['reason'], code: 'invalid_type', message: 'Invalid input: expected string, received number' }]
 * ```
 */
export function decisionIssues(value: unknown): ValidationIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [
      {
        path: [],
        code: 'invalid_type',
        message: `Invalid input: expected object, received ${typeName(value)}`,
      },
    ];
  }
  const input = value as Record<string, unknown>;
  const action = input.action;
  if (action !== 'retry' && action !== 'skip' && action !== 'abort') {
    const expected = ACTIONS.map((a) => `'${a}'`).join(' | ');
    return [
      {
        path: ['action'],
        code: 'invalid_union',
        message: `Invalid discriminator value. Expected ${expected}`,
      },
    ];
  }
  const issues: ValidationIssue[] = [];
  // zod checks the shape's keys first (a reason of the wrong type or length), then the keys it does not know.
  const reason = input.reason;
  if (action === 'abort' && reason !== undefined) {
    if (typeof reason !== 'string') {
      issues.push({
        path: ['reason'],
        code: 'invalid_type',
        message: `Invalid input: expected string, received ${typeName(reason)}`,
      });
    } else if (!fits(reason, MAX_REASON_LENGTH)) {
      issues.push({
        path: ['reason'],
        code: 'too_big',
        message: `Too big: expected string to have <=${MAX_REASON_LENGTH} characters`,
      });
    }
  }
  const optional = OPTIONAL_KEYS[action];
  const unknown: string[] = [];
  for (const key in input) if (key !== 'action' && key !== optional) unknown.push(key);
  if (unknown.length > 0) {
    issues.push({
      path: [],
      code: 'unrecognized_keys',
      message: `Unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `"${k}"`).join(', ')}`,
    });
  }
  return issues;
}

/**
 * A value's type as zod's messages name it (its `parsedType`, then its display names): `null`, `array`, `NaN` or
 * `Infinity`, the constructor's name of an object whose prototype is not `Object.prototype`, else `typeof`.
 */
function typeName(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : String(value);
  if (typeof value !== 'object') return typeof value;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Object.getPrototypeOf(value) !== Object.prototype && 'constructor' in value && value.constructor) {
    return `${(value.constructor as { name?: unknown }).name}`;
  }
  return 'object';
}
