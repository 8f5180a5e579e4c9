import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decisionIssues, parseDecision } from '../../src/machine/decision.js';

/** The decision schema as zod wrote it before the hand-written check: the reference for accept, reject and issues. */
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
      }),
      { numRuns: 3000 },
    );
  });

  it("explains a bad decision with zod's issues (path, code, message), and a good one with none", () => {
    fc.assert(
      fc.property(fc.oneof(nearlyValid, decisionLike, oddValues, fc.anything()), (value) => {
        const parsed = Reference.safeParse(value);
        const expected = parsed.success
          ? []
          : parsed.error.issues.map(({ path, code, message }) => ({ path, code, message }));
        expect(decisionIssues(value)).toStrictEqual(expected);
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

  it('names what zod names in its messages: odd types, several keys, the action list', () => {
    const cases: [unknown, { path: (string | number)[]; code: string; message: string }[]][] = [
      [null, [{ path: [], code: 'invalid_type', message: 'Invalid input: expected object, received null' }]],
      [
        ['retry'],
        [{ path: [], code: 'invalid_type', message: 'Invalid input: expected object, received array' }],
      ],
      [
        () => 1,
        [{ path: [], code: 'invalid_type', message: 'Invalid input: expected object, received function' }],
      ],
      [NaN, [{ path: [], code: 'invalid_type', message: 'Invalid input: expected object, received NaN' }]],
      [
        { action: 'later' },
        [
          {
            path: ['action'],
            code: 'invalid_union',
            message: "Invalid discriminator value. Expected 'retry' | 'skip' | 'abort'",
          },
        ],
      ],
      [
        { action: 'abort', reason: new Date(0), a: 1, b: 2 },
        [
          {
            path: ['reason'],
            code: 'invalid_type',
            message: 'Invalid input: expected string, received Date',
          },
          { path: [], code: 'unrecognized_keys', message: 'Unrecognized keys: "a", "b"' },
        ],
      ],
      [
        { action: 'abort', reason: Number.POSITIVE_INFINITY },
        [
          {
            path: ['reason'],
            code: 'invalid_type',
            message: 'Invalid input: expected string, received Infinity',
          },
        ],
      ],
      [
        { action: 'abort', reason: 'x'.repeat(1001) },
        [
          {
            path: ['reason'],
            code: 'too_big',
            message: 'Too big: expected string to have <=1000 characters',
          },
        ],
      ],
      [{ action: 'abort', reason: 'x'.repeat(1000) }, []],
    ];
    for (const [value, issues] of cases) {
      expect(decisionIssues(value)).toStrictEqual(issues);
      const parsed = Reference.safeParse(value);
      expect(
        parsed.success ? [] : parsed.error.issues.map(({ path, code, message }) => ({ path, code, message })),
      ).toStrictEqual(issues);
    }
  });
});
