import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EscalationDecisionSchema, parseDecision } from '../../src/machine/decision.js';

/** The decision schema as zod wrote it before the hand-written check: the reference for accept and reject. */
const Reference = z.discriminatedUnion('action', [
  z.object({ action: z.literal('retry') }).strict(),
  z.object({ action: z.literal('skip'), value: z.unknown().optional() }).strict(),
  z.object({ action: z.literal('abort'), reason: z.string().max(1000).optional() }).strict(),
]);

/** What zod makes of a value: its output, or `undefined` when it rejects it. */
const byZod = (schema: z.ZodType, value: unknown) => {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

const reasons = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    'x'.repeat(1000),
    'x'.repeat(1001),
    '😀'.repeat(1000),
    '😀'.repeat(1001),
    `${'😀'.repeat(999)}\ud83d`,
    `${'😀'.repeat(999)}\ud83d\ud83d`,
    '\ude00'.repeat(1001),
  ),
  fc.constant(undefined),
  fc.integer(),
  fc.constant(null),
);

/** Mostly valid decisions: each action with its own key present, absent or of the wrong type, now and then a key too many. */
const nearlyValid = fc
  .tuple(
    fc.constantFrom('retry', 'skip', 'abort'),
    fc.boolean(),
    fc.boolean(),
    fc.nat(9),
    fc.oneof(fc.anything(), fc.constant(undefined)),
    reasons,
  )
  .map(([action, hasValue, hasReason, stray, value, reason]) => {
    const decision: Record<string, unknown> = { action };
    if (action === 'skip' ? hasValue : hasValue && stray === 1) decision.value = value;
    if (action === 'abort' ? hasReason : hasReason && stray === 2) decision.reason = reason;
    if (stray === 0) decision.extra = true;
    return decision;
  });

/** Any keys of a decision, each there or not, with wrong actions too. */
const decisionLike = fc
  .record(
    {
      action: fc.constantFrom('retry', 'skip', 'abort', 'later', '', 'RETRY', undefined, 1, null),
      value: fc.oneof(fc.anything(), fc.constant(undefined)),
      reason: reasons,
      extra: fc.anything(),
      __proto__: fc.constant('polluted'),
    },
    { requiredKeys: [] },
  )
  // Through JSON.parse, `__proto__` is an own key, as it would be in a supervisor's parsed answer.
  .map((o) => (Object.hasOwn(o, '__proto__') ? JSON.parse(JSON.stringify(o)) : o));

const oddValues = fc.constantFrom<unknown>(
  null,
  undefined,
  'retry',
  42,
  [],
  ['retry'],
  Object.assign(['x'], { action: 'retry' }),
  new Date(0),
  Object.assign(new Map(), { action: 'retry' }),
  Object.create({ action: 'retry' }),
  Object.create({ action: 'skip', value: 1 }),
  Object.create({ action: 'abort', reason: 'x'.repeat(1001) }),
  Object.create({ extra: true }, { action: { value: 'retry', enumerable: true } }),
  Object.create(null, {
    action: { value: 'abort', enumerable: false },
    reason: { value: 'why', enumerable: true },
  }),
  JSON.parse('{"action":"retry","__proto__":{"x":1}}'),
  { action: 'retry', [Symbol('s')]: 1 },
  {
    get action() {
      return 'skip';
    },
  },
);

describe('escalation decisions', () => {
  it('the hand-written check accepts and returns exactly what the zod schema does', () => {
    fc.assert(
      fc.property(fc.oneof(nearlyValid, decisionLike, oddValues, fc.anything()), (value) => {
        const expected = byZod(Reference, value);
        expect(parseDecision(value)).toStrictEqual(expected);
        expect(byZod(EscalationDecisionSchema, value)).toStrictEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('returns a new object with the known keys only when present', () => {
    const input = { action: 'skip', value: { deep: true } };
    const decision = parseDecision(input);
    expect(decision).toEqual(input);
    expect(decision).not.toBe(input);
    expect(parseDecision({ action: 'skip' })).toStrictEqual({ action: 'skip' });
    expect(Object.keys(parseDecision({ action: 'skip', value: undefined }) ?? {})).toEqual([
      'action',
      'value',
    ]);
    expect(parseDecision({ action: 'abort', reason: 'x'.repeat(1000) })).toBeDefined();
    expect(parseDecision({ action: 'abort', reason: 'x'.repeat(1001) })).toBeUndefined();
    expect(parseDecision({ action: 'retry', value: 1 })).toBeUndefined();
  });

  it('the exported schema is a zod schema built on first use, with zod issues for a bad decision', () => {
    expect(EscalationDecisionSchema).toBeInstanceOf(z.ZodType);
    const parsed = EscalationDecisionSchema.safeParse({ action: 'abort', reason: 7 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ code: 'invalid_type', path: ['reason'] });
  });
});
