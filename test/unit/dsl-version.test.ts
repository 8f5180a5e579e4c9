import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ZodType, z } from 'zod';
import { workflow } from '../../src/dsl/builder.js';
import { fromJSON } from '../../src/dsl/json.js';
import type { WorkflowDefinition } from '../../src/model/definition.js';

const Input = z.object({
  user: z.object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9_]+$/),
    email: z.email().optional(),
    role: z.enum(['admin', 'member', 'guest']),
  }),
  tags: z.array(z.string()).max(5),
  limit: z.number().int().min(1).default(10),
  note: z.string().nullable().optional(),
  when: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});

const Output = z.object({
  ok: z.boolean(),
  report: z.object({ rows: z.array(z.object({ table: z.string(), size: z.number() })) }),
  level: z.union([z.literal('low'), z.literal('high')]),
});

const Approval = z.object({ by: z.string(), approved: z.boolean(), comment: z.string().optional() });

const child = workflow('child', { input: z.object({ table: z.string() }) })
  .step('inspect', { retry: { attempts: 2, backoff: 'fixed', retryOn: ['ETIMEDOUT'] } })
  .build();

/** Definitions covering every node kind, schemas on the workflow, on a wait and in a child workflow. */
const DEFINITIONS: Record<string, () => WorkflowDefinition<never, never>> = {
  sequence: () =>
    workflow('sequence', { input: Input, output: Output, description: 'd', result: 'results.last' })
      .step('first', { timeoutMs: 500, expectedMs: 20, escalate: { to: 'human', timeoutMs: 60_000 } })
      .step('last', { agent: 'finisher', input: 'input.user', onError: 'skip' })
      .build() as never,
  parallel: () =>
    workflow('parallel', { input: Input })
      .parallel('fan', { a: (b) => b.step('pa'), c: (b) => b.step('pc').step('pd') }, { failFast: false })
      .build() as never,
  branch: () =>
    workflow('branch', { output: Output })
      .step('triage')
      .branch('decide', [
        { when: 'results.triage.critical', then: (b) => b.step('page') },
        { when: 'isQuiet', then: (b) => b.step('log') },
        { otherwise: (b) => b.step('ignore') },
      ])
      .build() as never,
  map: () =>
    workflow('map', { input: z.object({ tables: z.array(z.string()) }) })
      .map('each', { items: 'input.tables', step: { agent: 'stats', timeoutMs: 100 }, concurrency: 4 })
      .build() as never,
  loop: () =>
    workflow('loop')
      .loop('refine', (b) => b.step('draft').step('review'), {
        until: 'results.review.ok',
        maxIterations: 3,
        onMaxIterations: 'fail',
      })
      .build() as never,
  waitFor: () =>
    workflow('waitFor', { input: Input, output: Output })
      .step('propose')
      .waitFor('approval', { event: 'approve', schema: Approval, timeoutMs: 86_400_000, onTimeout: 'skip' })
      .waitFor('plain', { event: 'go', timeoutMs: 10 })
      .build() as never,
  child: () =>
    workflow('parent', { input: Input })
      .step('sub', { workflow: child, input: 'input.user' })
      .map('subs', { items: 'input.tags', step: { workflow: child } })
      .build() as never,
};

describe('the version of a definition and of its JSON round trip', () => {
  it.each(Object.keys(DEFINITIONS))('is the same for %s', (name) => {
    const def = DEFINITIONS[name]!();
    const json = def.toJSON();
    const back = fromJSON(json);
    expect(back.version).toBe(def.version);
    expect(fromJSON(JSON.stringify(json)).version).toBe(def.version);
    expect(fromJSON(back.toJSON()).version).toBe(def.version);
    // And it is a hash of the tree: the same definition built again has it too.
    expect(DEFINITIONS[name]!().version).toBe(def.version);
  });

  it('changes with any change of meaning', () => {
    const versionOf = (input: ZodType, build = (w: ReturnType<typeof workflow>) => w.step('a')) =>
      build(workflow('w', { input })).build().version;
    const base = z.object({ name: z.string(), kind: z.enum(['a', 'b']), n: z.number().optional() });
    const versions = [
      versionOf(base),
      versionOf(z.object({ name: z.number(), kind: z.enum(['a', 'b']), n: z.number().optional() })),
      versionOf(z.object({ name: z.string(), kind: z.enum(['a', 'c']), n: z.number().optional() })),
      versionOf(z.object({ name: z.string(), kind: z.enum(['a', 'b']), n: z.number() })),
      versionOf(
        z.object({ name: z.string().regex(/^x/), kind: z.enum(['a', 'b']), n: z.number().optional() }),
      ),
      versionOf(
        z.object({ name: z.string().regex(/^y/), kind: z.enum(['a', 'b']), n: z.number().optional() }),
      ),
      versionOf(
        z.object({ name: z.string(), kind: z.enum(['a', 'b']), n: z.number().optional().default(1) }),
      ),
      versionOf(z.object({ name: z.string(), kind: z.enum(['a', 'b']), n: z.array(z.number()).optional() })),
      versionOf(base, (w) => w.step('a', { timeoutMs: 5 })),
      versionOf(base, (w) => w.step('a', { timeoutMs: 6 })),
      versionOf(base, (w) => w.step('a', { retry: { attempts: 2 } })),
      versionOf(base, (w) => w.step('a').step('b')),
      versionOf(base, (w) => w.step('a').waitFor('w', { event: 'e', timeoutMs: 1 })),
      versionOf(base, (w) => w.step('a').waitFor('w', { event: 'e', timeoutMs: 1, schema: z.string() })),
      versionOf(base, (w) => w.step('a').waitFor('w', { event: 'e', timeoutMs: 1, schema: z.number() })),
    ];
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('counts what JSON cannot keep: a transform or a pipe output changes the version, and is lost by the round trip', () => {
    const toNumber = workflow('w', { input: z.object({ n: z.string().pipe(z.coerce.number()) }) })
      .step('a')
      .build();
    const toBoolean = workflow('w', { input: z.object({ n: z.string().pipe(z.coerce.boolean()) }) })
      .step('a')
      .build();
    expect(toNumber.version).not.toBe(toBoolean.version);
    expect(toNumber.toJSON()).toStrictEqual(toBoolean.toJSON());
    const back = fromJSON(toNumber.toJSON());
    expect(back.version).not.toBe(toNumber.version);
    expect(back.version).toBe(fromJSON(toBoolean.toJSON()).version);
  });

  it('is the same for a definition read from hand-written JSON and its round trip', () => {
    const json = {
      id: 'hand',
      input: { type: 'object', required: ['a'], properties: { a: { type: 'string', pattern: '^[a-z]+$' } } },
      steps: [
        {
          kind: 'wait',
          name: 'w',
          event: 'e',
          timeoutMs: 5,
          schema: { type: 'object', properties: { by: { enum: ['x', 'y'] } } },
        },
      ],
    };
    const def = fromJSON(json);
    expect(fromJSON(def.toJSON()).version).toBe(def.version);
    // Key order is not meaning.
    const reordered = {
      ...json,
      input: { properties: json.input.properties, required: ['a'], type: 'object' },
    };
    expect(fromJSON(reordered).version).toBe(def.version);
  });
});

/** zod schemas that JSON Schema can express, nested up to a small depth. */
const schemaArbitrary = fc.letrec<{ schema: ZodType; field: ZodType }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
    fc.constantFrom<ZodType>(
      z.string(),
      z.string().min(1).max(10),
      z.string().regex(/^[a-z0-9_]+$/),
      z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      z.string().default('x'),
      z.email(),
      z.number(),
      z.number().int().min(0).max(100),
      z.boolean(),
      z.null(),
      z.literal('fixed'),
    ),
    fc
      .uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 1, maxLength: 4 })
      .map((values) => z.enum(values as [string, ...string[]])),
    tie('schema').map((s) => z.array(s)),
    tie('schema').map((s) => s.nullable()),
    tie('schema').map((s) => s.describe('described')),
    fc.tuple(tie('schema'), tie('schema')).map(([a, b]) => z.union([a, b])),
    fc
      .dictionary(fc.stringMatching(/^[a-z]{1,5}$/), tie('field'), { maxKeys: 4 })
      .map((shape) => z.object(shape)),
  ),
  field: fc.oneof(
    tie('schema'),
    tie('schema').map((s) => s.optional()),
  ),
}));

describe('the version of a definition with random zod schemas', () => {
  it('survives the JSON round trip, and differs exactly when the JSON form does', () => {
    const definition = fc
      .tuple(schemaArbitrary.schema, schemaArbitrary.schema, schemaArbitrary.schema, fc.boolean())
      .map(([input, output, event, parallel]) => {
        const w = workflow('random', { input, output }).step('first');
        if (parallel) w.parallel('p', { a: (b) => b.step('pa'), b: (b) => b.step('pb') });
        return w.waitFor('w', { event: 'e', schema: event, timeoutMs: 100 }).step('last').build();
      });
    fc.assert(
      fc.property(definition, definition, (a, b) => {
        const json = a.toJSON();
        expect(fromJSON(json).version).toBe(a.version);
        expect(fromJSON(JSON.stringify(json)).version).toBe(a.version);
        const sameJSON = JSON.stringify(canonicalJSON(json)) === JSON.stringify(canonicalJSON(b.toJSON()));
        expect(a.version === b.version).toBe(sameJSON);
      }),
      { numRuns: 150 },
    );
  });
});

/** A JSON value with object keys sorted, for comparing JSON forms by meaning rather than key order. */
function canonicalJSON(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJSON);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonicalJSON((value as Record<string, unknown>)[k])]),
  );
}
