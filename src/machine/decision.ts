/**
 * Escalation decisions: what a supervisor agent returns, or `resolveEscalation` receives. A supervisor's answer is
 * checked inside the step's machine, by hand; the zod schema gives the issues of a bad decision passed to
 * `resolveEscalation`. Both accept exactly the same values.
 */
import { z } from 'zod';
import type { EscalationDecision } from '../model/agent.js';

/** The longest `reason` an `abort` decision may give, in Unicode code points (as zod measures strings). */
const MAX_REASON_LENGTH = 1000;

/** Whether a string has at most `max` code points; a pair of UTF-16 surrogates is one, a lone one counts alone. */
function fits(text: string, max: number): boolean {
  if (text.length <= max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

/**
 * The zod schema of an escalation decision, as a supervisor agent returns it or `resolveEscalation` receives it.
 *
 * @example
 * ```ts
 * EscalationDecisionSchema.safeParse({ action: 'abort', reason: 'not today' }).success; // true
 * ```
 */
export const EscalationDecisionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('retry') }).strict(),
  z.object({ action: z.literal('skip'), value: z.unknown().optional() }).strict(),
  z.object({ action: z.literal('abort'), reason: z.string().max(MAX_REASON_LENGTH).optional() }).strict(),
]);

/** The keys each action allows, besides `action`. */
const OPTIONAL_KEYS: Readonly<Record<EscalationDecision['action'], string | undefined>> = {
  retry: undefined,
  skip: 'value',
  abort: 'reason',
};

/**
 * The decision, or `undefined` when the value is not a valid one. Accepts what {@link EscalationDecisionSchema}
 * accepts and returns what it would: a new object with `action` and, when the key is there, `value` (`skip`) or
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
