import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflow } from '../../src/dsl/builder.js';
import { fromJSON } from '../../src/dsl/json.js';
import { WorkflowJSONSchema } from '../../src/dsl/json-schema.js';
import {
  ConfigurationError,
  type DefinitionProblem,
  WorkflowDefinitionError,
} from '../../src/model/errors.js';

/** Every node kind and every option, as a user would write it by hand. */
const EVERY_KIND = {
  id: 'triage',
  description: 'Looks at a database and reports',
  onError: 'compensate',
  input: { type: 'object', properties: { dsn: { type: 'string' } }, required: ['dsn'] },
  output: { type: 'object' },
  result: 'results.report',
  secrets: ['input.dsn'],
  steps: [
    {
      kind: 'step',
      name: 'introspect',
      agent: 'introspector',
      input: 'input.dsn',
      retry: {
        attempts: 3,
        backoff: 'fixed',
        initialMs: 10,
        maxMs: 100,
        jitter: 0.5,
        retryOn: ['ETIMEDOUT'],
      },
      timeoutMs: 5000,
      fallback: 'introspectorLite',
      compensate: 'cleanup',
      escalate: { to: 'human', timeoutMs: 60000, onTimeout: 'skip' },
      expectedMs: 200,
      onError: 'skip',
      description: 'Reads the schema',
    },
    { kind: 'step', name: 'quiet', agent: 'quiet', escalate: false },
    {
      kind: 'step',
      name: 'child',
      workflow: { id: 'inner', steps: [{ kind: 'step', name: 'innerStep', agent: 'a' }] },
    },
    {
      kind: 'parallel',
      name: 'analyze',
      regions: {
        tables: [{ kind: 'step', name: 'tableStats', agent: 'tableStats' }],
        indexes: [{ kind: 'step', name: 'indexUsage', agent: 'indexUsage' }],
      },
      failFast: false,
    },
    {
      kind: 'branch',
      name: 'decide',
      arms: [
        { when: 'results.introspect.critical', steps: [{ kind: 'step', name: 'page', agent: 'pager' }] },
        { when: 'isWeekend', steps: [{ kind: 'step', name: 'email', agent: 'mailer' }] },
      ],
      otherwise: [{ kind: 'step', name: 'log', agent: 'logger' }],
    },
    {
      kind: 'map',
      name: 'check',
      items: 'results.introspect.tables',
      step: { agent: 'checkTable', retry: { attempts: 2 }, input: 'tableInput' },
      concurrency: 4,
    },
    {
      kind: 'loop',
      name: 'refine',
      steps: [{ kind: 'step', name: 'draft', agent: 'drafter' }],
      until: 'results.draft.ok',
      maxIterations: 3,
      onMaxIterations: 'fail',
    },
    {
      kind: 'wait',
      name: 'approval',
      event: 'approve',
      schema: { type: 'object', properties: { by: { type: 'string' } }, required: ['by'] },
      timeoutMs: 60000,
      onTimeout: 'skip',
    },
    { kind: 'step', name: 'report', agent: 'reporter' },
  ],
};

function problemsOf(run: () => unknown): readonly DefinitionProblem[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return (error as WorkflowDefinitionError).problems;
  }
  throw new Error('expected a WorkflowDefinitionError');
}

function pathsOf(problems: readonly DefinitionProblem[], code?: string): string[] {
  return problems.filter((p) => code === undefined || p.code === code).map((p) => p.path.join('.'));
}

afterEach(() => {
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
});

describe('the JSON form', () => {
  it('round-trips every node kind exactly, from a string or a parsed value', () => {
    expect(WorkflowJSONSchema.safeParse(EVERY_KIND).success).toBe(true);
    expect(fromJSON(EVERY_KIND).toJSON()).toStrictEqual(EVERY_KIND);
    expect(fromJSON(JSON.stringify(EVERY_KIND)).toJSON()).toStrictEqual(EVERY_KIND);
  });

  it('keeps the secret inputs: a definition sent as JSON and read back seals what it sealed, at the same version', () => {
    const built = workflow('secretive', { secrets: ['input.apiKey'] })
      .step('auth')
      .build();
    const read = fromJSON(JSON.stringify(built.toJSON()));
    expect(read.spec.options.secrets).toEqual(['input.apiKey']);
    expect(read.version).toBe(built.version);
    const bad = { id: 'bad', secrets: ['results.x'], steps: [{ kind: 'step', name: 'auth', agent: 'auth' }] };
    expect(() => fromJSON(bad)).toThrow(
      expect.objectContaining({ problems: [expect.objectContaining({ path: ['secrets', 0] })] }),
    );
  });

  it('keeps an omitted default omitted and an explicit one explicit', () => {
    const implicit = {
      id: 'w',
      steps: [
        { kind: 'parallel', name: 'p', regions: { r: [{ kind: 'step', name: 's', agent: 's' }] } },
        {
          kind: 'loop',
          name: 'l',
          steps: [{ kind: 'step', name: 't', agent: 't' }],
          until: 'done',
          maxIterations: 2,
        },
        { kind: 'wait', name: 'w', event: 'go', timeoutMs: 10 },
      ],
    };
    const explicit = structuredClone(implicit) as { steps: Array<Record<string, unknown>> };
    Object.assign(explicit.steps[0]!, { failFast: true });
    Object.assign(explicit.steps[1]!, { onMaxIterations: 'continue' });
    Object.assign(explicit.steps[2]!, { onTimeout: 'fail' });
    const a = fromJSON(implicit);
    const b = fromJSON(explicit);
    expect(a.toJSON()).toStrictEqual(implicit);
    expect(b.toJSON()).toStrictEqual(explicit);
    // Same meaning, same version.
    expect(a.version).toBe(b.version);
    expect(a.spec.nodes[0]).toMatchObject({ failFast: true });
  });

  it('writes a builder definition as plain JSON holding only the keys that are set', () => {
    const def = workflow('greet')
      .step('hello', { timeoutMs: 100 })
      .branch('b', [
        { when: 'results.hello.ok', then: (x) => x.step('yes') },
        { otherwise: (x) => x.step('no') },
      ])
      .build();
    const json = def.toJSON();
    expect(json).toStrictEqual({
      id: 'greet',
      steps: [
        { kind: 'step', name: 'hello', agent: 'hello', timeoutMs: 100 },
        {
          kind: 'branch',
          name: 'b',
          arms: [{ when: 'results.hello.ok', steps: [{ kind: 'step', name: 'yes', agent: 'yes' }] }],
          otherwise: [{ kind: 'step', name: 'no', agent: 'no' }],
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(json))).toStrictEqual(json);
  });

  it('keeps the version of a definition without zod schemas, child workflows included', () => {
    const child = workflow('child')
      .step('inner', { retry: { attempts: 2, retryOn: ['E'] } })
      .build();
    const def = workflow('outer', { description: 'd', result: 'results.last' })
      .step('first', { escalate: { to: 'boss', timeoutMs: 5 } })
      .step('sub', { workflow: child })
      .parallel('p', { a: (b) => b.step('pa'), c: (b) => b.step('pc') }, { failFast: false })
      .map('m', { items: 'results.first.list', step: { agent: 'each' }, concurrency: 3 })
      .loop('l', (b) => b.step('body'), { until: 'results.body.done', maxIterations: 4 })
      .waitFor('w', { event: 'go', timeoutMs: 1000, onTimeout: 'skip' })
      .step('last')
      .build();
    const back = fromJSON(JSON.stringify(def.toJSON()));
    expect(back.version).toBe(def.version);
    expect(back.toJSON()).toStrictEqual(def.toJSON());
    expect(fromJSON(back.toJSON()).version).toBe(def.version);
  });

  it('writes zod schemas as JSON Schema of what they accept, and reads them back as validators', () => {
    const def = workflow('typed', {
      input: z.object({ name: z.string(), count: z.number().default(1) }),
      output: z.object({ ok: z.boolean() }),
    })
      .waitFor('approval', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 1000 })
      .build();
    const json = def.toJSON();
    // The input side: a defaulted field is optional, as it is for callers.
    expect(json.input).toMatchObject({ type: 'object', required: ['name'] });
    const back = fromJSON(json);
    // The JSON form of the read-back definition is exactly what was read.
    expect(back.toJSON()).toStrictEqual(json);
    const input = back.spec.options.input!;
    expect(input.safeParse({ name: 'x' }).success).toBe(true);
    expect(input.safeParse({ name: 1 }).success).toBe(false);
    const wait = back.spec.nodes[0]!;
    expect(wait.kind === 'wait' && wait.schema?.safeParse({ by: 'ann' }).success).toBe(true);
    // Versions may differ here: the version hashes `toJSONSchema` of the zod schema, and a schema rebuilt
    // from JSON Schema need not print the same (z.object strips unknown keys, which JSON Schema cannot say,
    // so the rebuilt one lets them through and prints `additionalProperties: {}`). Only the JSON is exact.
  });

  it('keeps zod schema metadata from JSON out of the global registry', () => {
    const json = {
      id: 'w',
      input: { id: 'Input', type: 'object' },
      steps: [{ kind: 'step', name: 's', agent: 's' }],
    };
    // The same `id` twice would clash in zod's global registry.
    expect(fromJSON(json).toJSON()).toStrictEqual(json);
    expect(fromJSON(json).toJSON()).toStrictEqual(json);
  });

  it('shares no objects with its input or between calls', () => {
    const json = structuredClone(EVERY_KIND);
    const def = fromJSON(json);
    json.steps[0]!.name = 'changed';
    (json.input as { type: string }).type = 'string';
    const first = def.toJSON() as typeof EVERY_KIND;
    expect(first).toStrictEqual(EVERY_KIND);
    (first.input as { type: string }).type = 'number';
    expect(def.toJSON()).toStrictEqual(EVERY_KIND);
  });
});

describe('writing a definition that holds code', () => {
  it('refuses a definition with inline guards and mappings, listing each function with its path', () => {
    const def = workflow('inline', { result: (ctx) => ctx.results, guards: { big: () => true } })
      .step('a', { input: (ctx) => ctx.input })
      .branch('b', [
        { when: (ctx) => Boolean(ctx.input), then: (x) => x.step('c') },
        { otherwise: (x) => x.step('d') },
      ])
      .map('m', { items: () => [], step: { agent: 'e', input: (ctx) => ctx.item } })
      .loop('l', (x) => x.step('f'), { until: () => true, maxIterations: 2 })
      .build();
    const problems = problemsOf(() => def.toJSON());
    expect(problems.every((p) => p.code === 'inline-function')).toBe(true);
    expect(pathsOf(problems).sort()).toEqual(
      [
        'guards.big',
        'result',
        'steps.0.input',
        'steps.1.arms.0.when',
        'steps.2.items',
        'steps.2.step.input',
        'steps.3.until',
      ].sort(),
    );
    expect(problems[0]!.message).toMatch(
      /register it with the engine as a guard.*data path such as results\.step\.field/,
    );
  });

  it('reports a child workflow holding code under the step that runs it', () => {
    const child = workflow('child')
      .step('x', { input: () => 1 })
      .build();
    const def = workflow('parent').step('run', { workflow: child }).build();
    expect(pathsOf(problemsOf(() => def.toJSON()))).toEqual(['steps.0.workflow.steps.0.input']);
  });

  it('refuses a zod schema that JSON Schema cannot express', () => {
    const def = workflow('dated', { input: z.object({ at: z.date() }) })
      .step('a')
      .build();
    expect(
      pathsOf(
        problemsOf(() => def.toJSON()),
        'unrepresentable-schema',
      ),
    ).toEqual(['input']);
  });
});

describe('reading untrusted JSON', () => {
  it('rejects __proto__, constructor and prototype keys without touching Object.prototype', () => {
    const text =
      '{"id":"w","__proto__":{"polluted":true},"steps":[{"kind":"step","name":"s","agent":"s",' +
      '"constructor":{"prototype":{"polluted":true}}}],"input":{"properties":{"prototype":{}}}}';
    const problems = problemsOf(() => fromJSON(text));
    expect(pathsOf(problems, 'forbidden-key')).toEqual([
      '__proto__',
      'steps.0.constructor',
      'input.properties.prototype',
    ]);
    // The same, already parsed (JSON.parse makes `__proto__` an own key).
    expect(
      pathsOf(
        problemsOf(() => fromJSON(JSON.parse(text))),
        'forbidden-key',
      ),
    ).toHaveLength(3);
  });

  it('reports every zod issue with its code and path', () => {
    const problems = problemsOf(() =>
      fromJSON({
        id: '9lives',
        extra: true,
        steps: [
          { kind: 'teleport', name: 'a' },
          { kind: 'step', name: 'has space', agent: 'x' },
          { kind: 'step', name: 'b', retry: { attempts: 'three' } },
          { kind: 'step', name: 'c', escalate: { to: 'human', timeoutMs: 5, extra: 1 } },
          { kind: 'step', name: 'd', input: 'ctx => ctx.secret' },
          { kind: 'map', name: 'e', items: 'results.a', step: { agent: 'x' } },
          { kind: 'parallel', name: 'f', regions: { 'bad region': [] } },
        ],
      }),
    );
    expect(problems.map((p) => [p.code, p.path.join('.')])).toEqual([
      ['invalid_format', 'id'],
      ['invalid_union', 'steps.0.kind'],
      ['invalid_format', 'steps.1.name'],
      ['invalid_type', 'steps.2.retry.attempts'],
      ['unrecognized_keys', 'steps.3.escalate.extra'],
      ['invalid_format', 'steps.4.input'],
      ['invalid_type', 'steps.5.concurrency'],
      ['invalid_key', 'steps.6.regions.bad region'],
      // zod checks unknown keys after the known ones.
      ['unrecognized_keys', 'extra'],
    ]);
    expect(problems.every((p) => typeof p.message === 'string' && !p.message.includes('    at '))).toBe(true);
  });

  it('runs the static checks on what it read, naming the workflow', () => {
    let caught: unknown;
    try {
      fromJSON({
        id: 'dupes',
        steps: [
          { kind: 'step', name: 'a', agent: 'x' },
          { kind: 'step', name: 'a', agent: 'y' },
          { kind: 'loop', name: 'l', steps: [], until: 'done', maxIterations: 0 },
        ],
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WorkflowDefinitionError);
    const error = caught as WorkflowDefinitionError;
    expect(error.workflowId).toBe('dupes');
    expect(error.problems.map((p) => p.code)).toEqual(
      expect.arrayContaining(['duplicate-name', 'empty-loop', 'unbounded-loop']),
    );
  });

  it('reports problems of a child workflow under the step that runs it, with the parent checks', () => {
    const problems = problemsOf(() =>
      fromJSON({
        id: 'parent',
        steps: [
          { kind: 'step', name: 'run', workflow: { id: 'child', steps: [] } },
          { kind: 'step', name: 'run', agent: 'x' },
        ],
      }),
    );
    expect(problems.map((p) => [p.code, p.path.join('.')])).toEqual([
      ['empty-workflow', 'steps.0.workflow.steps'],
      ['duplicate-name', 'steps.1.name'],
    ]);
  });

  it('refuses $ref and unreadable JSON Schemas', () => {
    const base = { id: 'w', steps: [{ kind: 'step', name: 's', agent: 's' }] };
    const cyclic = { ...base, input: { $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' } };
    expect(
      pathsOf(
        problemsOf(() => fromJSON(cyclic)),
        'unsupported-json-schema',
      ),
    ).toEqual(['input.$defs.a.$ref']);
    const bad = { ...base, output: { type: 'teapot' } };
    expect(
      pathsOf(
        problemsOf(() => fromJSON(bad)),
        'invalid-json-schema',
      ),
    ).toEqual(['output']);
    const badPattern = {
      ...base,
      steps: [
        { kind: 'wait', name: 'w', event: 'e', timeoutMs: 1, schema: { type: 'string', pattern: '(' } },
      ],
    };
    expect(
      pathsOf(
        problemsOf(() => fromJSON(badPattern)),
        'invalid-json-schema',
      ),
    ).toEqual(['steps.0.schema']);
  });

  it('caps size, depth and value count', () => {
    const big = JSON.stringify({ id: 'w', description: 'x'.repeat(2000), steps: [] });
    expect(problemsOf(() => fromJSON(big, { maxBytes: 1000 }))[0]).toMatchObject({
      code: 'too-large',
      path: [],
    });
    // Multi-byte characters count in UTF-8 bytes, not string length.
    const wide = JSON.stringify({ id: 'w', description: '€'.repeat(400), steps: [] });
    expect(wide.length).toBeLessThan(1000);
    expect(problemsOf(() => fromJSON(wide, { maxBytes: 1000 }))[0]!.code).toBe('too-large');
    expect(problemsOf(() => fromJSON('x'.repeat(1024 * 1024 + 1)))[0]!.code).toBe('too-large');

    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(problemsOf(() => fromJSON({ id: 'w', steps: deep }))).toEqual([
      expect.objectContaining({ code: 'too-deep' }),
    ]);
    expect(
      problemsOf(() => fromJSON(`{"id":"w","steps":${'['.repeat(50_000)}${']'.repeat(50_000)}}`))[0]!.code,
    ).toBe('too-deep');
    const nested = { id: 'w', steps: [[[[[]]]]] };
    expect(problemsOf(() => fromJSON(nested, { maxDepth: 4 }))[0]).toMatchObject({
      code: 'too-deep',
      path: ['steps', 0, 0, 0],
    });

    const wide2 = { id: 'w', steps: Array.from({ length: 50 }, () => ({})) };
    expect(problemsOf(() => fromJSON(wide2, { maxNodes: 20 }))[0]!.code).toBe('too-large');
    const sparse: unknown[] = [];
    sparse.length = 1e9;
    expect(problemsOf(() => fromJSON({ id: 'w', steps: sparse }))[0]!.code).toBe('too-large');
  });

  it('refuses values that JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = { id: 'w' };
    cyclic.steps = [cyclic];
    const getter = { id: 'w' };
    Object.defineProperty(getter, 'steps', { get: () => [], enumerable: true });
    const holey: unknown[] = [];
    holey[1] = 1;
    const named = Object.assign([], { extra: 1 });
    const cases: Array<[unknown, string]> = [
      [{ id: 'w', steps: named }, 'steps.extra'],
      [{ id: 'w', steps: [], description: () => 'x' }, 'description'],
      [{ id: 'w', steps: [], description: new Date(0) }, 'description'],
      [{ id: 'w', steps: [], description: undefined }, 'description'],
      [
        { id: 'w', steps: [{ kind: 'wait', name: 'x', event: 'e', timeoutMs: Number.NaN }] },
        'steps.0.timeoutMs',
      ],
      [{ id: 'w', steps: new (class Steps extends Array {})() }, 'steps'],
      [{ id: 'w', steps: holey }, 'steps.0'],
      [getter, 'steps'],
      [{ id: 'w', steps: [], n: 10n }, 'n'],
    ];
    for (const [value, path] of cases) {
      expect(
        pathsOf(
          problemsOf(() => fromJSON(value)),
          'not-json',
        ),
      ).toEqual([path]);
    }
    expect(problemsOf(() => fromJSON(cyclic))[0]!.code).toBe('too-deep');
    expect(problemsOf(() => fromJSON(new Map()))[0]!.code).toBe('not-json');
    expect(
      problemsOf(() => fromJSON(Object.assign(Object.create(null), { id: 'w', steps: [] })))[0]!.code,
    ).toBe('empty-workflow');
  });

  it('bounds the number of problems it lists', () => {
    const keys = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, { constructor: 1 }]));
    const guarded = problemsOf(() => fromJSON({ id: 'w', steps: [], input: keys }));
    expect(guarded).toHaveLength(1001);
    expect(guarded.at(-1)!.code).toBe('too-many-problems');
    const steps = Array.from({ length: 1500 }, () => ({ kind: 'step', name: '1' }));
    const parsed = problemsOf(() => fromJSON({ id: 'w', steps }));
    expect(parsed).toHaveLength(1001);
    expect(parsed.at(-1)).toMatchObject({ code: 'too-many-problems', message: 'And 500 more problems' });
  });

  it('refuses text that is not JSON, or JSON that is not a workflow', () => {
    expect(problemsOf(() => fromJSON('{"id": '))[0]).toMatchObject({ code: 'invalid-json', path: [] });
    expect(problemsOf(() => fromJSON('"a string"'))[0]).toMatchObject({ code: 'invalid_type', path: [] });
    expect(problemsOf(() => fromJSON(null))[0]).toMatchObject({ code: 'invalid_type', path: [] });
  });

  it('rejects nonsensical limits as a caller error', () => {
    expect(() => fromJSON('{}', { maxDepth: 0 })).toThrow(ConfigurationError);
    expect(() => fromJSON('{}', { maxBytes: Number.NaN })).toThrow(ConfigurationError);
  });
});
