import { from, lastValueFrom, map, Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { z } from 'zod';
import * as zm from 'zod/mini';
import { StepOptionsJSONSchema } from '../../src/dsl/json-schema.js';
import { trackProgress, trackStepEvents, workflow } from '../../src/index.js';
import { fromJSON, WorkflowJSONSchema } from '../../src/json.js';
import { isZodType, jsonSchemaOf } from '../../src/model/zod.js';
import { throttleLatest } from '../../src/progress/throttle.js';
import { testEngine } from '../support/engine.js';

describe('zod helpers', () => {
  it('isZodType answers as instanceof ZodType does', () => {
    const values: unknown[] = [
      z.string(),
      z.object({}),
      z.string().optional(),
      {},
      null,
      undefined,
      'x',
      () => 1,
    ];
    for (const value of values) expect(isZodType(value)).toBe(value instanceof z.ZodType);
    expect(isZodType({ _zod: { traits: new Set(['ZodType']) } })).toBe(true);
  });

  it("jsonSchemaOf gives z.toJSONSchema's document, and its error", () => {
    const schemas = [
      z.object({ a: z.string().optional(), b: z.array(z.number()).min(1) }).describe('x'),
      z.object({ d: z.string().default('q') }),
      z.string().transform((s) => s.length),
    ];
    for (const schema of schemas) {
      for (const params of [{ io: 'input' as const }, { unrepresentable: 'any' as const }]) {
        expect(jsonSchemaOf(schema, params)).toEqual(z.toJSONSchema(schema, params));
      }
    }
    expect(() => jsonSchemaOf(z.date(), { io: 'input' })).toThrow(
      'Date cannot be represented in JSON Schema',
    );
    expect(jsonSchemaOf(z.date(), { unrepresentable: 'any' })).toEqual(
      z.toJSONSchema(z.date(), { unrepresentable: 'any' }),
    );
  });

  it('reads zod/mini schemas too (no toJSONSchema method of their own: zod is loaded for them)', () => {
    const mini = zm.object({ a: zm.optional(zm.string()), b: zm.array(zm.number()) });
    expect((mini as { toJSONSchema?: unknown }).toJSONSchema).toBeUndefined();
    expect(isZodType(mini)).toBe(mini instanceof z.ZodType);
    expect(jsonSchemaOf(mini as never, { io: 'input' })).toEqual(z.toJSONSchema(mini, { io: 'input' }));
    expect(() => jsonSchemaOf(zm.date() as never, { io: 'input' })).toThrow(
      'Date cannot be represented in JSON Schema',
    );
  });

  it('does not take a look-alike for a schema', () => {
    for (const value of [
      { _zod: {} },
      { _zod: { traits: new Set(['ZodMiniType']) } },
      { _zod: { traits: { has: 1 } } },
    ]) {
      expect(isZodType(value)).toBe(false);
    }
  });

  it('versions and the JSON form of definitions with zod schemas are what they were with zod imported', () => {
    // Pinned values (a version hashes the JSON Schema that the definition's JSON form holds for each schema).
    const typed = workflow('typed2', {
      input: z.object({ name: z.string().min(1), n: z.number().int().max(5).default(3) }),
    })
      .step('s0')
      .build();
    expect(typed.version).toBe('43120e3c91092871');
    expect(typed.toJSON()).toEqual({
      id: 'typed2',
      input: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1 },
          n: { default: 3, type: 'integer', minimum: -9007199254740991, maximum: 5 },
        },
        required: ['name'],
      },
      steps: [{ kind: 'step', name: 's0', agent: 's0' }],
    });
    const unrepresentable = workflow('typed', {
      input: z.object({ name: z.string().min(1), tags: z.array(z.string()).optional() }),
      output: z.object({ ok: z.boolean(), when: z.date() }),
    })
      .waitFor('approve', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 1000 })
      .step('s0', { agent: 'noop' })
      .build();
    expect(unrepresentable.version).toBe('571fc65043360274');
    expect(() => unrepresentable.toJSON()).toThrow(/Date cannot be represented in JSON Schema/);
  });
});

describe('WorkflowJSONSchema', () => {
  const example = { id: 'greet', steps: [{ kind: 'step', name: 'hello' }] };

  it('is a zod schema, one object wherever it is reached', () => {
    expect(WorkflowJSONSchema).toBeInstanceOf(z.ZodObject);
    // A nested workflow is the root schema itself (no stand-in).
    const step = StepOptionsJSONSchema.shape.workflow;
    expect(step.unwrap()).toBe(WorkflowJSONSchema);
    expect(WorkflowJSONSchema.parse(example)).toEqual(example);
    expect(WorkflowJSONSchema.safeParse(example).success).toBe(true);
    const bad = WorkflowJSONSchema.safeParse({ id: 'greet', steps: [{ kind: 'jump', name: 'x' }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['steps', 0, 'kind']);
    expect(Object.keys(WorkflowJSONSchema.shape)).toEqual([
      'id',
      'description',
      'onError',
      'input',
      'output',
      'result',
      'secrets',
      'steps',
    ]);
    // Composes like any schema.
    expect(z.array(WorkflowJSONSchema).safeParse([example]).success).toBe(true);
    expect(WorkflowJSONSchema.optional().safeParse(undefined).success).toBe(true);
  });

  it('converts with z.toJSONSchema, the recursion of nested workflows pointing back to the root', () => {
    const json = z.toJSONSchema(WorkflowJSONSchema) as unknown as {
      properties: { steps: unknown };
      $defs: Record<string, unknown>;
    };
    expect(json.properties.steps).toEqual({ type: 'array', items: { $ref: '#/$defs/__schema0' } });
    expect(Object.keys(json.$defs)).toEqual(['__schema0']);
    // A step's `workflow` is the root schema itself.
    expect(JSON.stringify(json.$defs)).toContain('"workflow":{"$ref":"#"}');
  });

  it('is what fromJSON checks against', () => {
    const json = { id: 'greet', steps: [{ kind: 'step', name: 'hello', agent: 'hello' }] };
    expect(fromJSON(json).toJSON()).toEqual(json);
    expect(() => fromJSON({ id: 'greet', steps: [{ kind: 'jump', name: 'x' }] })).toThrow(
      /Expected `kind` to be one of step, parallel, branch, map, loop or wait/,
    );
  });
});

describe('progress streams', () => {
  it('run.progress$ and run.events$ are rxjs Observables that rxjs operators take', async () => {
    const run = testEngine({ agents: { a: async () => 1 } }).start(workflow('w').step('a').build(), {});
    expect(run.progress$).toBeInstanceOf(Observable);
    expect(run.events$).toBeInstanceOf(Observable);
    const percents = lastValueFrom(
      run.progress$.pipe(
        map((p) => p.percent),
        toArray(),
      ),
    );
    await run.result;
    expect((await percents).at(-1)).toBe(100);
    expect(await lastValueFrom(from(run.events$).pipe(toArray()))).not.toHaveLength(0);
  });

  it('trackProgress, trackStepEvents and throttleLatest make rxjs Observables too', () => {
    const actor = createActor(workflow('w').step('a').build().machine);
    expect(trackProgress(actor)).toBeInstanceOf(Observable);
    expect(trackStepEvents(actor)).toBeInstanceOf(Observable);
    expect(from([1, 2]).pipe(throttleLatest(0))).toBeInstanceOf(Observable);
  });
});
