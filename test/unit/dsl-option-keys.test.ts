/**
 * A step option the builder does not know is refused at build(), as the JSON form refuses it (found by a new user:
 * `retires: 3` in JavaScript was dropped without a word, so the step ran once). Same code and path both ways.
 */
import { describe, expect, it } from 'vitest';
import type { BranchArmInput, LoopOptions, MapOptions, WaitForOptions } from '../../src/dsl/builder.js';
import { keepOptions } from '../../src/dsl/builder-options.js';
import { checkSpec } from '../../src/dsl/checks.js';
import {
  EscalationPolicyJSONSchema,
  RetryPolicyJSONSchema,
  StepOptionsJSONSchema,
  WorkflowJSONSchema,
  WorkflowNodeJSONSchema,
} from '../../src/dsl/json-schema.js';
import {
  type AllKeys,
  ESCALATION_POLICY_KEYS,
  LOOP_OPTION_KEYS,
  MAP_OPTION_KEYS,
  OTHERWISE_ARM_KEYS,
  PARALLEL_OPTION_KEYS,
  RETRY_POLICY_KEYS,
  STEP_OPTION_KEYS,
  WAIT_FOR_OPTION_KEYS,
  WHEN_ARM_KEYS,
  WORKFLOW_OPTION_KEYS,
} from '../../src/dsl/option-keys.js';
import {
  type DefinitionProblem,
  type SequenceBuilder,
  type WorkflowDefinition,
  WorkflowDefinitionError,
  workflow,
} from '../../src/index.js';
import { fromJSON } from '../../src/json.js';
import type { WorkflowNode } from '../../src/model/definition.js';

// The builder's own option types, listed once in option-keys.ts (which may not import the builder): a key missing
// from a list, or one the type lacks, does not compile.
MAP_OPTION_KEYS satisfies AllKeys<MapOptions<unknown>>;
LOOP_OPTION_KEYS satisfies AllKeys<LoopOptions<unknown>>;
WAIT_FOR_OPTION_KEYS satisfies AllKeys<WaitForOptions>;
PARALLEL_OPTION_KEYS satisfies AllKeys<NonNullable<Parameters<SequenceBuilder['parallel']>[2]>>;
WHEN_ARM_KEYS satisfies AllKeys<Extract<BranchArmInput<unknown>, { readonly when: unknown }>>;
OTHERWISE_ARM_KEYS satisfies AllKeys<Extract<BranchArmInput<unknown>, { readonly otherwise: unknown }>>;

function problemsOf(build: () => unknown): readonly DefinitionProblem[] {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return (error as WorkflowDefinitionError).problems;
  }
  throw new Error('expected a WorkflowDefinitionError');
}

describe('unknown keys in the builder’s step options', () => {
  it('refuses a typo in a step’s options (held in a variable: TypeScript lets it through), naming the key and the step', () => {
    const options = { agent: 'loader', retires: 3 };
    const problems = problemsOf(() => workflow('w').step('load', options).build());
    expect(problems).toEqual([
      {
        code: 'unrecognized_keys',
        path: ['steps', 0, 'retires'],
        message: `Unknown key 'retires' in the options of step 'load' (known: ${STEP_OPTION_KEYS.join(', ')})`,
      },
    ]);
    expect(() => workflow('w').step('load', options).build()).toThrow(
      /steps\[0\]\.retires: Unknown key 'retires'/,
    );
  });

  it('refuses a typo in a retry policy, an escalation and a map’s step, with their paths', () => {
    const retry = { attempts: 3, backof: 'fixed' } as never;
    const escalate = { to: 'human', timeoutMs: 1000, onTimout: 'skip' } as never;
    const step = { agent: 'check', timeoutMS: 5 } as never;
    const problems = problemsOf(() =>
      workflow('w')
        .step('a', { retry })
        .step('b', { escalate })
        .map('m', { items: 'input.list', step, concurrency: 2 })
        .build(),
    );
    expect(problems.map((p) => [p.code, p.path.join('.'), p.message.split(' (')[0]])).toEqual([
      ['unrecognized_keys', 'steps.0.retry.backof', "Unknown key 'backof' in the retry policy of step 'a'"],
      [
        'unrecognized_keys',
        'steps.1.escalate.onTimout',
        "Unknown key 'onTimout' in the escalation of step 'b'",
      ],
      [
        'unrecognized_keys',
        'steps.2.step.timeoutMS',
        "Unknown key 'timeoutMS' in the options of the step of map 'm'",
      ],
    ]);
  });

  it('gives the JSON form’s code and path for the same typo', () => {
    const fromBuilder = problemsOf(() =>
      workflow('w')
        .step('load', { agent: 'loader', retires: 3 } as never)
        .build(),
    );
    const fromJson = problemsOf(() =>
      fromJSON({ id: 'w', steps: [{ kind: 'step', name: 'load', agent: 'loader', retires: 3 }] }),
    );
    expect(fromBuilder.map((p) => [p.code, p.path])).toEqual(fromJson.map((p) => [p.code, p.path]));
  });

  it('knows the keys the JSON form’s schemas know, no more, no fewer', () => {
    expect(sorted(STEP_OPTION_KEYS)).toEqual(keys(StepOptionsJSONSchema.shape));
    expect(sorted(RETRY_POLICY_KEYS)).toEqual(keys(RetryPolicyJSONSchema.shape));
    expect(sorted(ESCALATION_POLICY_KEYS)).toEqual(keys(EscalationPolicyJSONSchema.shape));
  });
});

describe('unknown keys in the workflow’s options', () => {
  it('refuses a typo in workflow(id, options) at the top of the path, as the JSON form does', () => {
    // Held in a variable with a known key beside it, TypeScript lets the typo through.
    const options = { description: 'nightly', onErorr: 'skip' };
    const problems = problemsOf(() => workflow('w', options).step('a').build());
    expect(problems).toEqual([
      {
        code: 'unrecognized_keys',
        path: ['onErorr'],
        message: `Unknown key 'onErorr' in the options of workflow 'w' (known: ${WORKFLOW_OPTION_KEYS.join(', ')})`,
      },
    ]);
    const fromJson = problemsOf(() =>
      fromJSON({ id: 'w', onErorr: 'skip', steps: [{ kind: 'step', name: 'a', agent: 'a' }] }),
    );
    expect(fromJson.map((p) => [p.code, p.path])).toEqual([['unrecognized_keys', ['onErorr']]]);
  });

  it('knows the JSON form’s top-level keys, but for the id and steps (arguments of the builder) and the two JSON cannot hold', () => {
    // `guards` are functions, which JSON cannot hold.
    const builderOnly = ['guards'];
    expect(sorted(WORKFLOW_OPTION_KEYS.filter((k) => !builderOnly.includes(k)))).toEqual(
      keys(WorkflowJSONSchema.shape).filter((k) => k !== 'id' && k !== 'steps'),
    );
  });
});

// A typo in each kind's options, nested where a sub-builder cannot know its own path: the path is checkSpec's.
const TYPOS = {
  map: { items: 'input.list', step: { agent: 'check' }, concurrency: 2, concurency: 4 },
  loop: { until: 'results.b', maxIterations: 2, maxIteration: 5 },
  wait: { event: 'go', timeoutMs: 1_000, onTimout: 'skip' },
  parallel: { failfast: false },
  arms: [
    { when: 'results.a', then: (x: never) => x, label: 'first' },
    { otherwise: (x: never) => x, when: 'results.a' },
  ],
} as const;
const EXPECTED = [
  ['steps.1.concurency', "Unknown key 'concurency' in the options of map 'm'", MAP_OPTION_KEYS],
  ['steps.2.failfast', "Unknown key 'failfast' in the options of parallel 'p'", PARALLEL_OPTION_KEYS],
  [
    'steps.2.regions.r.0.maxIteration',
    "Unknown key 'maxIteration' in the options of loop 'l'",
    LOOP_OPTION_KEYS,
  ],
  [
    'steps.2.regions.r.0.steps.1.onTimout',
    "Unknown key 'onTimout' in the options of waitFor 'w'",
    WAIT_FOR_OPTION_KEYS,
  ],
  ['steps.3.arms.0.label', "Unknown key 'label' in arm 0 of branch 'pick'", WHEN_ARM_KEYS],
  ['steps.3.arms.1.when', "Unknown key 'when' in the `otherwise` arm 1 of branch 'pick'", ['otherwise']],
].map(([path, message, known]) => ({
  code: 'unrecognized_keys',
  path,
  message: `${message} (known: ${(known as readonly string[]).join(', ')})`,
}));

/** The definition with the same options, typos left out, so that it builds however the builder checks. */
function fixture(): WorkflowDefinition {
  const { concurency: _c, ...map } = TYPOS.map;
  const { maxIteration: _m, ...loop } = TYPOS.loop;
  const { onTimout: _o, ...wait } = TYPOS.wait;
  return workflow('w')
    .step('a')
    .map('m', map)
    .parallel('p', { r: (x) => x.loop('l', (y) => y.step('b').waitFor('w', wait), loop) })
    .branch('pick', [{ when: 'results.a', then: (x) => x.step('c') }, { otherwise: (x) => x.step('d') }])
    .build();
}

describe('unknown keys in the options of map, loop, waitFor, parallel and branch', () => {
  it('refuses each with its node’s path, once the builder hands its options over (keepOptions)', () => {
    // What build() does once builder.ts passes each options object to keepOptions with its node.
    const { spec } = fixture();
    const [, map, parallel, branch] = spec.nodes as WorkflowNode[];
    if (map?.kind !== 'map' || parallel?.kind !== 'parallel' || branch?.kind !== 'branch')
      throw new Error('shape');
    const loop = parallel.regions.r?.[0];
    const wait = loop?.kind === 'loop' ? loop.body[1] : undefined;
    if (loop === undefined || wait === undefined) throw new Error('shape');
    keepOptions(map, TYPOS.map);
    keepOptions(parallel, TYPOS.parallel);
    keepOptions(loop, TYPOS.loop);
    keepOptions(wait, TYPOS.wait);
    keepOptions(branch, TYPOS.arms);
    expect(checkSpec(spec).map((p) => ({ ...p, path: p.path.join('.') }))).toEqual(EXPECTED);
  });

  it('refuses each at build(), with its node’s path', () => {
    const problems = problemsOf(() =>
      workflow('w')
        .step('a')
        .map('m', TYPOS.map)
        .parallel(
          'p',
          {
            r: (x) => x.loop('l', (y) => y.step('b').waitFor('w', TYPOS.wait), TYPOS.loop as never),
          },
          TYPOS.parallel as never,
        )
        .branch('pick', TYPOS.arms as never)
        .build(),
    );
    expect(problems.map((p) => ({ ...p, path: p.path.join('.') }))).toEqual(EXPECTED);
  });

  it('reports an arm, region or loop body without its function at build(), not as a TypeError at once', () => {
    const problems = problemsOf(() =>
      workflow('w')
        .step('a')
        .branch('pick', [
          { when: 'results.a', thne: (b: unknown) => b },
          { otherwise: (b: SequenceBuilder) => b.step('c') },
        ] as never)
        .parallel('p', { r: undefined as never })
        .build(),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'not-a-function', path: ['steps', 1, 'arms', 0, 'then'] }),
        expect.objectContaining({ code: 'unrecognized_keys', path: ['steps', 1, 'arms', 0, 'thne'] }),
        expect.objectContaining({ code: 'not-a-function', path: ['steps', 2, 'regions', 'r'] }),
      ]),
    );
  });

  it('reports the same code and path as the JSON form for the same typos', () => {
    const fromJson = problemsOf(() =>
      fromJSON({
        id: 'w',
        steps: [
          { kind: 'step', name: 'a', agent: 'a' },
          {
            kind: 'map',
            name: 'm',
            items: 'input.list',
            step: { agent: 'check' },
            concurrency: 2,
            concurency: 4,
          },
          {
            kind: 'parallel',
            name: 'p',
            failfast: false,
            regions: {
              r: [
                {
                  kind: 'loop',
                  name: 'l',
                  until: 'results.b',
                  maxIterations: 2,
                  maxIteration: 5,
                  steps: [
                    { kind: 'step', name: 'b', agent: 'b' },
                    { kind: 'wait', name: 'w', event: 'go', timeoutMs: 1_000, onTimout: 'skip' },
                  ],
                },
              ],
            },
          },
        ],
      }),
    );
    // zod lists them in its own order.
    expect(fromJson.map((p) => `${p.code} ${p.path.join('.')}`).sort()).toEqual(
      EXPECTED.slice(0, 4)
        .map((p) => `${p.code} ${p.path}`)
        .sort(),
    );
  });

  it('knows the keys the JSON form’s node schemas know, but for kind, name and the builder’s arguments', () => {
    const nodeKeys = (kind: string, ...builderArguments: string[]) => {
      const schema = WorkflowNodeJSONSchema.options.find((o) => o.shape.kind.value === kind);
      if (!schema) throw new Error(`no ${kind} schema`);
      return keys(schema.shape).filter((k) => !['kind', 'name', ...builderArguments].includes(k));
    };
    expect(sorted(MAP_OPTION_KEYS)).toEqual(nodeKeys('map'));
    // A loop's body and a parallel's regions are the builder's callbacks, not options.
    expect(sorted(LOOP_OPTION_KEYS)).toEqual(nodeKeys('loop', 'steps'));
    expect(sorted(WAIT_FOR_OPTION_KEYS)).toEqual(nodeKeys('wait'));
    expect(sorted(PARALLEL_OPTION_KEYS)).toEqual(nodeKeys('parallel', 'regions'));
    // A guarded arm's `then` callback is the JSON arm's `steps`; `otherwise` is the JSON branch's own key.
    const branch = WorkflowNodeJSONSchema.options.find((o) => o.shape.kind.value === 'branch');
    const arm = (branch?.shape as { arms: { element: { shape: object } } } | undefined)?.arms.element.shape;
    expect(sorted(WHEN_ARM_KEYS.map((k) => (k === 'then' ? 'steps' : k)))).toEqual(keys(arm ?? {}));
  });
});

function keys(shape: object): string[] {
  return Object.keys(shape).sort();
}

function sorted(list: readonly string[]): string[] {
  return [...list].sort();
}
