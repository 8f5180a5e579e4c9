import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type SequenceBuilder, WorkflowDefinitionError, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

/** A builder program: what a user could write, valid or broken. */
type Op =
  | { op: 'step'; name: string; attempts: number; fail: boolean }
  | { op: 'parallel'; name: string; regions: Array<[string, Op[]]>; failFast: boolean }
  | { op: 'branch'; name: string; arms: Array<{ truthy: boolean; ops: Op[] }>; otherwise: Op[] | null }
  | { op: 'map'; name: string; concurrency: number; size: number }
  | { op: 'loop'; name: string; ops: Op[]; max: number }
  | { op: 'wait'; name: string; event: string; timeoutMs: number };

// A small pool makes duplicates likely; a few broken names and numbers make invalid programs.
const name = fc.oneof(
  { weight: 150, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '1abc', 'has space', '__proto__', 'constructor', 'a.b', 'dupe', 'dupe'),
  },
);

// Generated names are made unique (so most programs are valid) except the planted 'dupe' and broken ones.
let serial = 0;
const unique = (n: string) => (/^[a-z][a-z0-9]{2,8}$/.test(n) && n !== 'dupe' ? `${n}${serial++}` : n);
const count = fc.oneof(
  { weight: 150, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, Number.NaN) },
);

const { ops } = fc.letrec<{ op: Op; ops: Op[] }>((tie) => ({
  ops: fc.oneof(
    { weight: 40, arbitrary: fc.array(tie('op'), { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant<Op[]>([]) },
  ),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ op: fc.constant('step' as const), name, attempts: count, fail: fc.boolean() }),
    fc.record({
      op: fc.constant('parallel' as const),
      name,
      regions: fc.array(fc.tuple(name, tie('ops') as fc.Arbitrary<Op[]>), { minLength: 1, maxLength: 3 }),
      failFast: fc.boolean(),
    }),
    fc.record({
      op: fc.constant('branch' as const),
      name,
      arms: fc.array(fc.record({ truthy: fc.boolean(), ops: tie('ops') as fc.Arbitrary<Op[]> }), {
        minLength: 1,
        maxLength: 2,
      }),
      otherwise: fc.option(tie('ops') as fc.Arbitrary<Op[]>, { nil: null, freq: 30 }),
    }),
    fc.record({
      op: fc.constant('map' as const),
      name,
      concurrency: count,
      size: fc.integer({ min: 0, max: 5 }),
    }),
    fc.record({ op: fc.constant('loop' as const), name, ops: tie('ops') as fc.Arbitrary<Op[]>, max: count }),
    fc.record({
      op: fc.constant('wait' as const),
      name,
      event: fc.oneof(
        { weight: 40, arbitrary: fc.constant('approve') },
        { weight: 1, arbitrary: fc.constantFrom('xstate.init', '') },
      ),
      timeoutMs: fc.oneof(
        { weight: 40, arbitrary: fc.constant(10) },
        { weight: 1, arbitrary: fc.constantFrom(0, Number.POSITIVE_INFINITY) },
      ),
    }),
  ),
}));

const program = fc.tuple(ops, ops).map(([a, b]) => [...a, ...b]);

function apply(b: SequenceBuilder, program: Op[]): void {
  for (const o of program) {
    switch (o.op) {
      case 'step':
        b.step(unique(o.name), {
          agent: o.fail ? 'fails' : 'ok',
          retry: { attempts: o.attempts, initialMs: 1 },
          onError: 'skip',
        });
        break;
      case 'parallel':
        b.parallel(
          unique(o.name),
          Object.fromEntries(
            o.regions.map(([r, inner]) => [unique(r), (x: SequenceBuilder) => apply(x, inner)]),
          ),
          { failFast: o.failFast },
        );
        break;
      case 'branch':
        b.branch(unique(o.name), [
          ...o.arms.map((a) => ({ when: () => a.truthy, then: (x: SequenceBuilder) => apply(x, a.ops) })),
          ...(o.otherwise ? [{ otherwise: (x: SequenceBuilder) => apply(x, o.otherwise ?? []) }] : []),
        ]);
        break;
      case 'map':
        b.map(unique(o.name), {
          items: () => Array.from({ length: o.size }, (_, i) => i),
          step: { agent: 'ok' },
          concurrency: o.concurrency,
        });
        break;
      case 'loop':
        b.loop(unique(o.name), (x) => apply(x, o.ops), { until: () => false, maxIterations: o.max });
        break;
      case 'wait':
        b.waitFor(unique(o.name), { event: o.event, timeoutMs: o.timeoutMs, onTimeout: 'skip' });
        break;
    }
  }
}

describe('the builder on thousands of random programs', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('builds or refuses with a WorkflowDefinitionError; every built one runs to an end', async () => {
    const engine = testEngine({
      agents: {
        ok: (x: unknown) => x ?? null,
        fails: async () => {
          throw new Error('planned');
        },
      },
    });
    let built = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(program, async (program) => {
        let definition: ReturnType<ReturnType<typeof workflow>['build']> | undefined;
        try {
          const b = workflow('random');
          apply(b, program);
          definition = b.build();
          built++;
        } catch (error) {
          expect(error).toBeInstanceOf(WorkflowDefinitionError);
          expect((error as WorkflowDefinitionError).problems.length).toBeGreaterThan(0);
          refused++;
          return;
        }
        const run = engine.start(definition, {});
        // Every wait has a deadline and every loop a bound: fake time runs the whole workflow out.
        await vi.advanceTimersByTimeAsync(10_000);
        expect(['done', 'failed']).toContain(run.status);
        await run.result.catch(() => {});
      }),
      { numRuns: 1_500 },
    );
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(built).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
    // 1,500 programs are CPU work (about 6 s on a quiet 2-core machine): the default 20 s, meant to catch hangs, was
    // exceeded under a full parallel run at load 8.
  }, 90_000);
});
