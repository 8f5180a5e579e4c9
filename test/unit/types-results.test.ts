import { describe, expect, expectTypeOf, it } from 'vitest';
import { fromPromise } from 'xstate';
import { z } from 'zod';
import {
  type AnyWorkflowDefinition,
  createEngine,
  type SequenceBuilder,
  type WorkflowContext,
  workflow,
} from '../../src/index.js';

// Typed step results. These are type tests first: `npx tsc -p tsconfig.json --noEmit` checks them (test/ is in
// tsconfig's include), `expectTypeOf` fails the type check on a wrong type and `@ts-expect-error` on code that
// compiles when it must not. At run time the assertions are no-ops; the runs below check the values.

const agents = {
  lookup: async ({ name }: { name: string }) => ({ name, title: 'Countess' }),
  greet: async ({ name, title }: { name: string; title: string }) => `Hello, ${title} ${name}!`,
  count: (table: string) => table.length,
  tables: async () => ['orders', 'customers'],
  scan: fromPromise(async ({ input }: { input: string }) => ({ table: input, rows: 3 })),
};
type Lookup = { name: string; title: string };

const input = z.object({ name: z.string() });

describe('typed results', () => {
  it('types a step result as its agent output, from the registry declared with .agents<typeof agents>()', async () => {
    const hello = workflow('hello', { input })
      .agents<typeof agents>()
      .step('lookup')
      .step('greet', {
        input: (ctx) => {
          expectTypeOf(ctx.input).toEqualTypeOf<{ name: string }>();
          expectTypeOf(ctx.results.lookup).toEqualTypeOf<Lookup>();
          return ctx.results.lookup;
        },
      })
      .step('shout', {
        agent: 'greet',
        input: (ctx) => {
          expectTypeOf(ctx.results.greet).toEqualTypeOf<string>();
          return { name: ctx.results.greet.toUpperCase(), title: ctx.results.lookup.title };
        },
      })
      .build();
    const run = createEngine({ agents }).start(hello, { name: 'Ada' });
    await expect(run.result).resolves.toEqual({
      lookup: { name: 'Ada', title: 'Countess' },
      greet: 'Hello, Countess Ada!',
      shout: 'Hello, Countess HELLO, COUNTESS ADA!!',
    });
  });

  it('types a run’s result as its results record, or as its output schema when it has one', async () => {
    const child = workflow('typed-child')
      .agents<typeof agents>()
      .step('count', { input: () => 'orders' })
      .build();
    const parent = workflow('typed-parent')
      .agents<typeof agents>()
      .step('lookup', { input: () => ({ name: 'Ada' }) })
      .step('sub', { workflow: child })
      .waitFor('ok', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 60_000 })
      .step('tables', { onError: 'skip' })
      .build();
    const engine = createEngine({ agents });
    const run = engine.start(parent, {});
    expectTypeOf(run.result).resolves.toEqualTypeOf<{
      readonly lookup: Lookup;
      readonly sub: { readonly count: number };
      readonly ok: { by: string };
      readonly tables: string[] | null;
    }>();
    while (run.status !== 'waiting') await new Promise((r) => setTimeout(r, 5));
    run.send({ type: 'approved', by: 'ann' });
    const out = await run.result;
    expect(out.sub.count).toBe(6);
    expect(out.ok.by).toBe('ann');
    // @ts-expect-error: no step 'nope' in the workflow
    expect(out.nope).toBeUndefined();
    const schema = z.object({ total: z.number() });
    const shaped = workflow('typed-output', { output: schema }).step('count').build();
    expectTypeOf(engine.start(shaped, {}).result).resolves.toEqualTypeOf<{ total: number }>();
    // Steps the builder could not follow (a region callback that does not return its builder): open again.
    const open = workflow('typed-open')
      .parallel('p', {
        a: (r) => {
          r.step('count');
        },
      })
      .build();
    expectTypeOf(engine.start(open, {}).result).resolves.toMatchTypeOf<Readonly<Record<string, unknown>>>();
  });

  it('refuses a misspelled result name in a mapping, typed registry or not', () => {
    workflow('typo')
      .agents<typeof agents>()
      .step('lookup')
      // @ts-expect-error: no step 'lokup' ran before this one
      .step('greet', { input: (ctx) => ctx.results.lokup });
    workflow('typo')
      .step('lookup')
      // @ts-expect-error: without a registry the names are still known (their results are `unknown`)
      .step('greet', { input: (ctx) => ctx.results.lokup });
    workflow('typo')
      .step('lookup')
      .branch('b', [
        // @ts-expect-error: guards see the same results
        { when: (ctx) => ctx.results.lokup === 1, then: (b) => b.step('x') },
        { otherwise: (b) => b.step('y') },
      ]);
    // @ts-expect-error: a step cannot read its own result, nor a later one's
    workflow('self').step('lookup', { input: (ctx) => ctx.results.lookup });
  });

  it('keeps results `unknown` where nothing is known, so casts still compile', () => {
    workflow('plain')
      .step('lookup')
      .step('greet', {
        input: (ctx) => {
          expectTypeOf(ctx.results.lookup).toEqualTypeOf<unknown>();
          return ctx.results.lookup as Lookup;
        },
      });
  });

  it('checks agent names against the declared registry', () => {
    workflow('names').agents<typeof agents>().step('hi', { agent: 'greet' });
    // @ts-expect-error: no agent 'gret' in the registry
    workflow('names').agents<typeof agents>().step('hi', { agent: 'gret' });
    // without a registry, any name (the engine checks it when the workflow starts)
    workflow('names').step('hi', { agent: 'gret' });
  });

  it('types actor-logic agents and child workflows by their output', () => {
    const child = workflow('child', { output: z.object({ rows: z.number() }) })
      .step('count')
      .build();
    workflow('parent')
      .agents<typeof agents>()
      .step('scan')
      .step('sub', { workflow: child })
      .step('after', {
        agent: 'count',
        input: (ctx) => {
          expectTypeOf(ctx.results.scan).toEqualTypeOf<{ table: string; rows: number }>();
          expectTypeOf(ctx.results.sub).toEqualTypeOf<{ rows: number }>();
          return ctx.results.scan.table;
        },
      });
  });

  it('adds null where a step can end skipped', () => {
    workflow('skips')
      .agents<typeof agents>()
      .step('count', { onError: 'skip' })
      .step('lookup', { escalate: { to: 'human', timeoutMs: 1_000 } })
      .step('greet', { onError: 'fail' })
      .step('end', {
        agent: 'count',
        input: (ctx) => {
          expectTypeOf(ctx.results.count).toEqualTypeOf<number | null>();
          expectTypeOf(ctx.results.lookup).toEqualTypeOf<Lookup | null>();
          expectTypeOf(ctx.results.greet).toEqualTypeOf<string>();
          return '';
        },
      });
    workflow('skip-all', { onError: 'skip' })
      .agents<typeof agents>()
      .step('count')
      .step('greet', {
        input: (ctx) => {
          expectTypeOf(ctx.results.count).toEqualTypeOf<number | null>();
          return { name: '', title: '' };
        },
      });
  });

  it('follows regions, arms, maps, loops and waits', async () => {
    const wf = workflow('shapes', { input })
      .agents<typeof agents>()
      .parallel('both', {
        a: (b) => b.step('lookup'),
        b: (b) => b.step('tables'),
      })
      .branch('pick', [
        {
          when: (ctx) => ctx.results.tables.length > 1,
          then: (b) => b.step('greet', { input: (ctx) => ctx.results.lookup }),
        },
        { otherwise: (b) => b.step('count', { input: () => 'none' }) },
      ])
      .map('sizes', {
        items: (ctx) => ctx.results.tables,
        step: {
          agent: 'count',
          input: (ctx) => {
            expectTypeOf(ctx.item).toEqualTypeOf<string>();
            expectTypeOf(ctx.index).toEqualTypeOf<number>();
            return ctx.item;
          },
        },
      })
      .loop(
        'again',
        (b) =>
          b.step('draft', {
            agent: 'count',
            input: (ctx) => {
              // in the body, names of the round before are readable, their results `unknown`
              expectTypeOf(ctx.results.critique).toEqualTypeOf<unknown>();
              return String(ctx.results.sizes.length);
            },
          }),
        {
          until: (ctx) => {
            expectTypeOf(ctx.results.draft).toEqualTypeOf<number>();
            return ctx.results.draft >= 0;
          },
          maxIterations: 2,
        },
      )
      .waitFor('approval', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 60_000 })
      .waitFor('note', { event: 'note', timeoutMs: 60_000, onTimeout: 'skip' })
      .step('report', {
        agent: 'greet',
        input: (ctx) => {
          expectTypeOf(ctx.results.lookup).toEqualTypeOf<Lookup>();
          expectTypeOf(ctx.results.tables).toEqualTypeOf<string[]>();
          expectTypeOf(ctx.results.greet).toEqualTypeOf<string | undefined>();
          expectTypeOf(ctx.results.count).toEqualTypeOf<number | undefined>();
          expectTypeOf(ctx.results.sizes).toEqualTypeOf<readonly number[]>();
          expectTypeOf(ctx.results.draft).toEqualTypeOf<number>();
          expectTypeOf(ctx.results.approval).toEqualTypeOf<{ by: string }>();
          expectTypeOf(ctx.results.note).toEqualTypeOf<unknown>();
          // @ts-expect-error: the loop's body is typed again after it
          void ctx.results.critique;
          return { name: ctx.results.approval.by, title: ctx.results.greet ?? '' };
        },
      })
      .build();
    const run = createEngine({ agents }).start(wf, { name: 'Ada' });
    while (run.status === 'running') await new Promise((resolve) => setTimeout(resolve, 1));
    run.send({ type: 'approve', by: 'Ana' });
    run.send({ type: 'note', text: 'ok' });
    await expect(run.result).resolves.toMatchObject({
      sizes: [6, 9],
      draft: 1,
      report: 'Hello, Hello, Countess Ada! Ana!',
    });
  });

  it('opens the results again where a callback does not return its builder', () => {
    workflow('open')
      .step('first')
      .parallel('p', {
        a: (b) => {
          b.step('hidden');
        },
      })
      .step('last', {
        input: (ctx) => {
          expectTypeOf(ctx.results.hidden).toEqualTypeOf<unknown>();
          expectTypeOf(ctx.results.anything).toEqualTypeOf<unknown>();
          return ctx.results.first;
        },
      });
  });

  it('still takes what compiled before: explicit type arguments, plain builder types, any definition', () => {
    type In = { table: string };
    const fill = (name: string) => (b: SequenceBuilder) => b.step(name);
    const mapping = (ctx: WorkflowContext<In>) => ctx.results.inner;
    const wf = workflow<In, unknown>('compat', { onError: 'skip', result: 'results.inner' })
      .step('outer', { input: mapping })
      .parallel('p', { r: fill('inner') })
      .branch('b', [{ when: 'results.inner', then: fill('arm') }, { otherwise: () => {} }])
      .build();
    const any: AnyWorkflowDefinition = wf;
    expect(any.id).toBe('compat');
  });
});
