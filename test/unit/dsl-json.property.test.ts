import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromJSON } from '../../src/dsl/json.js';
import { WorkflowDefinitionError } from '../../src/model/errors.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * The arbitraries of a node tree. With `bad` at 0 every pick is valid; above 0, each pick is sometimes a bad
 * value (a bad name, a code-like reference, an out-of-range number, an empty list...).
 */
function arbitraries(bad: number) {
  const maybe = <T>(good: fc.Arbitrary<T>, broken: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    bad === 0 ? good : fc.oneof({ weight: 12, arbitrary: good }, { weight: bad, arbitrary: broken });
  const name = maybe(
    fc.stringMatching(/^[a-z][a-zA-Z0-9_-]{0,6}$/),
    fc.constantFrom('', '9lives', 'has space', 'a.b', '__proto__', 'x'.repeat(129)),
  );
  // A path on results must name a step of its workflow (a checks error otherwise): random trees seldom have the
  // one named, so those paths are among the bad picks (renamed trees do have an `n1`, sometimes where it is read).
  const ref = maybe(
    fc.constantFrom('input.flag', 'isReady', 'results', 'input.list', 'input.x-y.$z'),
    fc.constantFrom('', 'ctx => ctx.x', 'process.exit()', 'results..x', 'results.a.ok', 'results.n1.ok'),
  );
  const ms = maybe(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(0, -5, 2 ** 60));
  const count = maybe(fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, -1, 2.5, 1e9));
  const jsonSchema = maybe(
    fc.constantFrom<JsonObject>(
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
      { type: 'string', minLength: 1 },
      {},
      { anyOf: [{ type: 'number' }, { type: 'null' }] },
    ),
    fc.constantFrom<JsonObject>({ type: 'teapot' }, { $ref: '#' }, { type: 'string', pattern: '(' }),
  );
  const retry = fc.record(
    {
      attempts: count,
      backoff: fc.constantFrom('exponential', 'fixed'),
      initialMs: ms,
      maxMs: ms,
      jitter: maybe(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(2, -0.5)),
      retryOn: fc.array(fc.constantFrom('ETIMEDOUT', 'E429'), { maxLength: 2 }),
    },
    { requiredKeys: ['attempts'] },
  );
  const escalate = fc.oneof(
    fc.constant(false),
    fc.record(
      { to: fc.oneof(fc.constant('human'), name), timeoutMs: ms, onTimeout: fc.constantFrom('fail', 'skip') },
      { requiredKeys: ['to', 'timeoutMs'] },
    ),
  );
  const stepOptions = (workflow: fc.Arbitrary<JsonObject>) =>
    fc
      .record(
        {
          agent: name,
          input: ref,
          retry,
          timeoutMs: ms,
          fallback: name,
          compensate: name,
          escalate,
          expectedMs: ms,
          onError: fc.constantFrom('fail', 'skip', 'compensate'),
          description: fc.string({ maxLength: 8 }),
          child: fc.oneof(
            { weight: 10, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: workflow },
          ),
          // Both or neither of agent and workflow: a checks error.
          wrongAgent: maybe(fc.constant(false), fc.constant(true)),
        },
        { requiredKeys: ['agent', 'child', 'wrongAgent'] },
      )
      .map(({ child, wrongAgent, ...options }): JsonObject => {
        const out: JsonObject = { ...options } as JsonObject;
        if (child !== undefined) out.workflow = child;
        if ((child !== undefined) !== wrongAgent) delete out.agent;
        return out;
      });
  const minOne = bad === 0 ? 1 : 0;

  return fc.letrec<{ node: JsonObject; nodes: Json[]; workflow: JsonObject }>((tie) => ({
    nodes: maybe(fc.array(tie('node'), { minLength: 1, maxLength: 3 }), fc.constant([])),
    workflow: fc.record(
      {
        id: name,
        description: fc.string({ maxLength: 8 }),
        onError: fc.constantFrom('fail', 'skip', 'compensate'),
        input: jsonSchema,
        output: jsonSchema,
        result: ref,
        steps: tie('nodes'),
      },
      { requiredKeys: ['id', 'steps'] },
    ),
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
      fc
        .tuple(name, stepOptions(tie('workflow')))
        .map(([n, options]): JsonObject => ({ kind: 'step', name: n, ...options })),
      fc.record(
        {
          kind: fc.constant('parallel'),
          name,
          regions: fc.dictionary(name, tie('nodes'), { minKeys: minOne, maxKeys: 2 }),
          failFast: fc.boolean(),
        },
        { requiredKeys: ['kind', 'name', 'regions'] },
      ),
      fc.record(
        {
          kind: fc.constant('branch'),
          name,
          // Distinct guards, unless bad: an arm repeating an earlier guard is unreachable.
          arms: maybe(
            fc.uniqueArray(fc.record({ when: ref, steps: tie('nodes') }), {
              selector: (arm) => arm.when,
              minLength: 1,
              maxLength: 2,
            }),
            fc.array(fc.record({ when: ref, steps: tie('nodes') }), { maxLength: 2 }),
          ),
          otherwise: tie('nodes'),
        },
        { requiredKeys: bad === 0 ? ['kind', 'name', 'arms', 'otherwise'] : ['kind', 'name', 'arms'] },
      ),
      fc.record({
        kind: fc.constant('map'),
        name,
        items: ref,
        step: stepOptions(tie('workflow')),
        concurrency: count,
      }),
      fc.record(
        {
          kind: fc.constant('loop'),
          name,
          steps: tie('nodes'),
          until: ref,
          maxIterations: count,
          onMaxIterations: fc.constantFrom('continue', 'fail'),
        },
        { requiredKeys: ['kind', 'name', 'steps', 'until', 'maxIterations'] },
      ),
      fc.record(
        {
          kind: fc.constant('wait'),
          name,
          event: maybe(fc.constantFrom('approve', 'done'), fc.constantFrom('', 'xstate.init', 'flowstate.x')),
          schema: jsonSchema,
          timeoutMs: ms,
          onTimeout: fc.constantFrom('fail', 'skip'),
        },
        { requiredKeys: ['kind', 'name', 'event', 'timeoutMs'] },
      ),
    ),
  }));
}

const clean = arbitraries(0).workflow;
const dirty = arbitraries(1).workflow;

/** Renames every node and workflow uniquely, so that a good share of trees pass the duplicate-name check. */
function renameUniquely(doc: JsonObject): JsonObject {
  let next = 0;
  const visit = (value: Json): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (typeof value.kind === 'string') value.name = `n${next++}`;
    else if (typeof value.id === 'string' && Array.isArray(value.steps)) value.id = `w${next++}`;
    for (const [key, child] of Object.entries(value))
      if (key !== 'input' && key !== 'output' && key !== 'schema') visit(child);
  };
  visit(doc);
  return doc;
}

type Mutation = {
  at: number;
  key: number;
  op: 'delete' | 'set' | 'unknown' | 'proto' | 'constructor' | 'deep';
  value: Json;
};
const mutation = fc.record({
  at: fc.nat(),
  key: fc.nat(),
  op: fc.constantFrom<Mutation['op']>('delete', 'set', 'unknown', 'proto', 'constructor', 'deep'),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});

/** Breaks a tree at a random place: a missing key, a wrong type, an unknown or dangerous key, deep nesting. */
function mutate(doc: JsonObject, m: Mutation): JsonObject {
  const containers: Array<JsonObject | Json[]> = [];
  const collect = (value: Json): void => {
    if (value === null || typeof value !== 'object') return;
    containers.push(value);
    for (const child of Object.values(value)) collect(child);
  };
  collect(doc);
  const target = containers[m.at % containers.length]!;
  const keys = Object.keys(target);
  const key = keys.length === 0 ? '0' : keys[m.key % keys.length]!;
  const put = (k: string, v: Json) =>
    Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
  let deep: Json = {};
  for (let i = 0; i < 80; i += 1) deep = { steps: [deep] };
  switch (m.op) {
    case 'delete':
      if (Array.isArray(target)) target.splice(m.key % Math.max(1, target.length), 1);
      else delete target[key];
      break;
    case 'set':
      put(key, m.value);
      break;
    case 'unknown':
      if (!Array.isArray(target)) put(`zz${m.key % 3}`, m.value);
      break;
    case 'proto':
      put('__proto__', { polluted: true });
      break;
    case 'constructor':
      put('constructor', { prototype: { polluted: true } });
      break;
    case 'deep':
      put(key, deep);
      break;
  }
  return doc;
}

const cases = fc
  .oneof(
    // Valid trees: every pick valid and names made unique.
    fc.record({ doc: clean, unique: fc.constant(true), mutations: fc.constant([]), asText: fc.boolean() }),
    // Broken trees: bad picks, duplicate names, then up to three mutations.
    fc.record({
      doc: dirty,
      unique: fc.boolean(),
      mutations: fc.array(mutation, { maxLength: 3 }),
      asText: fc.boolean(),
    }),
  )
  .map(({ doc, unique, mutations, asText }) => {
    let value = structuredClone(doc);
    if (unique) value = renameUniquely(value);
    for (const m of mutations) value = mutate(value, m);
    return asText ? JSON.stringify(value) : value;
  });

function assertPrototypeClean(): void {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

/** Builds or throws a WorkflowDefinitionError, nothing else; a build round-trips exactly. */
function check(input: unknown): boolean {
  let built: ReturnType<typeof fromJSON> | undefined;
  try {
    built = fromJSON(input);
  } catch (error) {
    if (!(error instanceof WorkflowDefinitionError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const p of error.problems) expect(Array.isArray(p.path)).toBe(true);
  }
  assertPrototypeClean();
  if (built === undefined) return false;
  const expected = typeof input === 'string' ? JSON.parse(input) : input;
  expect(built.toJSON()).toStrictEqual(expected);
  // A second generation is the same definition.
  expect(fromJSON(built.toJSON()).version).toBe(built.version);
  return true;
}

describe('fromJSON on random input', () => {
  it('builds or throws a WorkflowDefinitionError for random node trees, and every valid one round-trips', () => {
    let valid = 0;
    let total = 0;
    fc.assert(
      fc.property(cases, (input) => {
        total += 1;
        if (check(input)) valid += 1;
      }),
      { numRuns: 2000 },
    );
    // The property says little unless a fair share of the trees is valid.
    expect(valid / total).toBeGreaterThan(0.1);
  });

  it('never throws anything but a WorkflowDefinitionError for arbitrary values and text', () => {
    const anything = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
      maxDepth: 4,
    });
    const input = fc.oneof(anything, fc.jsonValue(), fc.string(), fc.json());
    fc.assert(
      fc.property(input, (value) => {
        check(value);
      }),
      { numRuns: 1000 },
    );
  });
});
