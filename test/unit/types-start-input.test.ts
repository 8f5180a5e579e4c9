import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createEngine, type WorkflowDefinition, workflow } from '../../src/index.js';
import { silent } from '../support/engine.js';

// What `engine.start` takes is what the input schema accepts (zod's input type: defaults optional, values before a
// transform), while mappings and guards see what it gives (the output type). Type tests first: `npx tsc --noEmit -p .`
// checks them (test/ is in tsconfig's include); the runs below check the values.

const Input = z.object({ a: z.string(), n: z.number().default(3) });

describe('the input engine.start takes', () => {
  it('is the schema input type: a field with a default may be left out; ctx.input has it', async () => {
    const wf = workflow('d', { input: Input })
      .step('s', {
        input: (ctx) => {
          expectTypeOf(ctx.input).toEqualTypeOf<{ a: string; n: number }>();
          return ctx.input.n;
        },
      })
      .build();
    expectTypeOf(wf).toEqualTypeOf<
      WorkflowDefinition<
        { a: string; n: number },
        { readonly s: unknown },
        { a: string; n?: number | undefined }
      >
    >();
    const engine = createEngine({ logger: silent, agents: { s: async (n: number) => n * 2 } });
    await expect(engine.start(wf, { a: 'x' }).result).resolves.toEqual({ s: 6 });
    await expect(engine.start(wf, { a: 'x', n: 4 }).result).resolves.toEqual({ s: 8 });
    // @ts-expect-error: `a` has no default
    expect(() => engine.start(wf, { n: 4 })).toThrow(/input/);
    // @ts-expect-error: `n` is a number
    expect(() => engine.start(wf, { a: 'x', n: '4' })).toThrow(/input/);
  });

  it('takes what a transform reads, and the definition keeps the output type for mappings', async () => {
    const wf = workflow('t', {
      input: z.object({ when: z.string().transform((s) => s.length) }),
      result: (ctx) => ctx.input.when + 1,
    })
      .step('s')
      .build();
    expectTypeOf(wf).toEqualTypeOf<WorkflowDefinition<{ when: number }, number, { when: string }>>();
    const engine = createEngine({ logger: silent, agents: { s: async () => 1 } });
    await expect(engine.start(wf, { when: 'abc' }).result).resolves.toBe(4);
    // @ts-expect-error: the schema reads a string
    expect(() => engine.start(wf, { when: 3 })).toThrow(/input/);
  });

  it('stays the declared input type without a schema, with explicit type arguments, and for JSON-typed ones', () => {
    const open = workflow('o').step('s').build();
    expectTypeOf(open).toEqualTypeOf<WorkflowDefinition<unknown, { readonly s: unknown }>>();
    const declared = workflow<{ a: string }>('e', { input: z.object({ a: z.string() }) })
      .step('s')
      .build();
    expectTypeOf(declared).toEqualTypeOf<WorkflowDefinition<{ a: string }, { readonly s: unknown }>>();
    const engine = createEngine({ logger: silent, agents: { s: async () => 1 } });
    engine.start(declared, { a: 'x' }).cancel();
    // @ts-expect-error: the declared input needs `a`
    expect(() => engine.start(declared, {})).toThrow(/input/);
    // A definition typed with two arguments still takes its input type.
    const two: WorkflowDefinition<{ a: string }, unknown> = declared;
    engine.start(two, { a: 'y' }).cancel();
  });
});
