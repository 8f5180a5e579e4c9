import type { AnyActorLogic, OutputFrom } from 'xstate';
import type { ZodType } from 'zod';
import type { AgentRegistry } from '../model/agent.js';
import type {
  EscalationPolicy,
  GuardRef,
  Mapping,
  OnError,
  StepOptions,
  WorkflowContext,
  WorkflowDefinition,
  WorkflowNode,
  WorkflowOptions,
} from '../model/definition.js';
import { type DefinitionProblem, WorkflowDefinitionError } from '../model/errors.js';
import { keepOptions } from './builder-options.js';
import { checkSpec } from './checks.js';
import { createDefinition } from './definition.js';

// --- Typed results -------------------------------------------------------------------------------------------
// The builder carries the results' type `R` from step to step: each step adds its name with its result's type,
// known from the agent registry given to `.agents<typeof agents>()`, a child workflow's output or a `waitFor`
// schema (else `unknown`). Mappings and guards see `R` as `ctx.results`, so a misspelled name does not compile.
// Where the builder cannot follow (a region, arm or loop body callback that does not return its builder), the
// results become open again: any name, `unknown`, as before typed results.

/** Results with any name, each `unknown`. */
type OpenResults = Readonly<Record<string, unknown>>;
declare const untracked: unique symbol;
/** Open results that stay open: a callback added steps the builder could not follow. */
type Untracked = OpenResults & { readonly [untracked]?: true };
type IsUntracked<R> = typeof untracked extends keyof R ? true : false;
/** One flat object type instead of an intersection (index signatures and known names kept). */
type Flat<T> = { [K in keyof T]: T[K] } & {};
/** `R` without its index signatures: the names known. */
type Known<R> = { [K in keyof R as string extends K ? never : number extends K ? never : K]: R[K] };
type With<R, N extends string, V> = Flat<R & { readonly [K in N]: V }>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer X) => void
  ? X
  : never;

/** The results a sub-builder callback ended with: its builder's, or open ones if it returned something else. */
type ResultsOf<X, R> = X extends { readonly $types?: { readonly results: infer R2 } }
  ? R2
  : Flat<R & Untracked>;
/** What an arm adds: its new names, each optional (the arm may not run). */
type ArmAdds<X, R> =
  IsUntracked<ResultsOf<X, R>> extends true
    ? Untracked
    : { readonly [K in keyof ResultsOf<X, R> as K extends keyof R ? never : K]?: ResultsOf<X, R>[K] };
type ArmResults<Arm, R> = Arm extends { readonly then: (b: never) => infer X }
  ? ArmAdds<X, R>
  : Arm extends { readonly otherwise: (b: never) => infer X }
    ? ArmAdds<X, R>
    : never;

/** An agent's output: what its function resolves to, or its actor logic's output. */
// biome-ignore lint/suspicious/noExplicitAny: any parameters, so every agent function matches
type OutputOfAgent<X> = X extends (...args: any[]) => infer T
  ? Awaited<T>
  : X extends AnyActorLogic
    ? OutputFrom<X>
    : unknown;
/** The agent names a step may give: the registry's when one is declared, else any. */
type AgentName<A> = unknown extends A ? string : keyof A & string;
type AgentOutput<A, G> = G extends keyof A ? OutputOfAgent<A[G]> : unknown;
/** `null` when the step can end skipped: its own `onError: 'skip'`, the workflow's default, or an escalation. */
type Skippable<E, X, S> =
  | ([E] extends [undefined] ? S : 'skip' extends E ? null : never)
  | (X extends EscalationPolicy ? null : never);
/** What the step options' types say of the result. */
interface StepTypeHooks<G, C, E, X> {
  readonly agent?: G;
  readonly workflow?: WorkflowDefinition<unknown, C>;
  readonly onError?: E;
  readonly escalate?: X;
}
type Runs<A, G, C> = [C] extends [never] ? AgentOutput<A, G> : C;

/** The builder `B` (root or sequence) with results `R2`. */
type Next<B, R2> = B extends {
  readonly $types?: { readonly input: infer I; readonly skipped: infer S; readonly agents: infer A };
}
  ? B extends { readonly $output: { readonly output: infer O; readonly startInput: infer In } }
    ? WorkflowBuilder<I, O, R2, S, A, In>
    : SequenceBuilder<I, R2, S, A>
  : never;

/** One arm of `.branch(...)`: a guarded arm, or the `otherwise` arm that must come last. */
export type BranchArmInput<I, R = OpenResults, S = null, A = unknown> =
  | { readonly when: GuardRef<I, R>; readonly then: (b: SequenceBuilder<I, R, S, A>) => unknown }
  | { readonly otherwise: (b: SequenceBuilder<I, R, S, A>) => unknown };

/**
 * What a `map` item's `input` mapping sees: the workflow context plus the item and its index.
 * @template I - The workflow's input type.
 * @template T - An item's type.
 * @template R - The results of the steps before the map, by name.
 */
export interface MapItemContext<I = unknown, T = unknown, R = OpenResults> extends WorkflowContext<I, R> {
  /** This item: the element of the `items` list at `index`. */
  readonly item: T;
  /** The item's zero-based position in the `items` list (its step's path is `name[index]`). */
  readonly index: number;
}

/**
 * Options of `.map(...)`. `T` is an item's type, known when `items` is a function.
 * @template I - The workflow's input type.
 * @template T - An item's type.
 * @template R - The results of the steps before the map, by name.
 */
export interface MapOptions<I, T = unknown, R = OpenResults> {
  /** The list to fan out over: a function of the context, or a data path such as `results.list.tables`. */
  readonly items: Mapping<I, readonly T[], R>;
  /** The step run for each item. Its agent receives the item unless `input` maps it otherwise. */
  readonly step: Omit<StepOptions<I, R>, 'input'> & {
    input?: ((ctx: MapItemContext<I, T, R>) => unknown) | string;
  };
  /** How many items run at once. @default 1 */
  readonly concurrency?: number;
}

/**
 * Options of `.loop(...)`.
 * @template I - The workflow's input type.
 * @template R - The results `until` sees: the steps before the loop and the body's own, by name.
 */
export interface LoopOptions<I, R = OpenResults> {
  /** Tested after each round; the loop ends when it holds. */
  readonly until: GuardRef<I, R>;
  /** The bound: at most this many rounds. */
  readonly maxIterations: number;
  /** What happens when the bound is hit before `until` holds. @default 'continue' */
  readonly onMaxIterations?: 'continue' | 'fail';
}

/**
 * Options of `.waitFor(...)`. `T` is the payload's type, known from `schema`.
 * @template T - The payload's type: the step's result.
 */
export interface WaitForOptions<T = unknown> {
  /** The event type that `run.send({ type, ...payload })` delivers. */
  readonly event: string;
  /** Validates the payload (the event without `type`); the parsed value is the step's result. */
  readonly schema?: ZodType<T>;
  /** How long to wait. */
  readonly timeoutMs: number;
  /** What happens when no event comes in time. @default 'fail' */
  readonly onTimeout?: 'fail' | 'skip';
}

/**
 * Builds a sequence of nodes; `.parallel`, `.branch` and `.loop` hand a fresh one to their callbacks.
 * Every method appends and returns the same builder, typed with the results so far: `I` is the input's type,
 * `R` the results' (what mappings and guards see as `ctx.results`), `S` is `null` when the workflow's default
 * `onError` is `'skip'`, and `A` the agent registry's type declared with `.agents<typeof agents>()`.
 */
export class SequenceBuilder<I = unknown, R = OpenResults, S = null, A = unknown> {
  /** Type carriers only: never set at run time. */
  declare readonly $types?: {
    readonly input: I;
    readonly results: R;
    readonly skipped: S;
    readonly agents: A;
  };
  /** @internal */
  readonly nodes: WorkflowNode[] = [];
  /** @internal problems the spec cannot express (an `otherwise` that is not last), reported at build */
  readonly problems: DefinitionProblem[];

  /** @internal */
  constructor(problems: DefinitionProblem[] = []) {
    this.problems = problems;
  }

  /**
   * An agent step. Without `agent` or `workflow`, the agent is the one registered under the step's name.
   * Its result, `ctx.results[name]` in later mappings, is typed by the declared agent registry or the child
   * workflow's output.
   *
   * @example
   * ```ts
   * workflow('w').step('introspect', { agent: 'introspector', retry: { attempts: 3 }, timeoutMs: 5_000 })
   * // On workers of the 'sql-agents' queue, with createEngine({ transport: bullmqTransport(...) }):
   * workflow('w').step('profile', { agent: 'profiler', queue: 'sql-agents' })
   * ```
   */
  step<
    N extends string,
    G extends AgentName<A> | undefined = undefined,
    C = never,
    E extends OnError | undefined = undefined,
    X extends false | EscalationPolicy | undefined = undefined,
  >(
    name: N,
    options: StepOptions<I, R> & StepTypeHooks<G, C, E, X> = {},
  ): Next<this, With<R, N, Runs<A, G extends string ? G : N, C> | Skippable<E, X, S>>> {
    const resolved =
      options.agent === undefined && options.workflow === undefined ? { ...options, agent: name } : options;
    this.nodes.push({ kind: 'step', name, options: resolved as StepOptions });
    return this as never;
  }

  /**
   * Regions that run at once and join when all are done (an XState parallel state). The results of every
   * region's steps are known after it when each region returns its builder.
   *
   * @example
   * ```ts
   * b.parallel('analyze', { tables: (r) => r.step('tableStats'), indexes: (r) => r.step('indexUsage') })
   * ```
   */
  parallel<G extends Readonly<Record<string, (b: SequenceBuilder<I, R, S, A>) => unknown>>>(
    name: string,
    regions: G,
    options: { readonly failFast?: boolean } = {},
  ): Next<this, Flat<R & UnionToIntersection<ResultsOf<ReturnType<G[keyof G]>, R>>>> {
    const built: Record<string, WorkflowNode[]> = {};
    const at = this.nodes.length;
    for (const [region, fill] of Object.entries(regions))
      built[region] = this.sub(fill, ['steps', at, 'regions', region]);
    this.nodes.push(
      keepOptions({ kind: 'parallel', name, regions: built, failFast: options.failFast ?? true }, options),
    );
    return this as never;
  }

  /**
   * Guarded arms tried in order (XState guarded transitions); the `otherwise` arm comes last. After it, the
   * results of the arms' steps are optional: only one arm ran.
   *
   * @example
   * ```ts
   * b.branch('triage', [
   *   { when: 'hasCritical', then: (x) => x.step('review', { escalate: { to: 'human', timeoutMs: 60_000 } }) },
   *   { otherwise: (x) => x.step('report') },
   * ])
   * ```
   */
  branch<const G extends ReadonlyArray<BranchArmInput<I, R, S, A>>>(
    name: string,
    arms: G,
  ): Next<this, Flat<R & UnionToIntersection<ArmResults<G[number], R>>>> {
    const index = this.nodes.length;
    const guarded: { when: GuardRef; nodes: WorkflowNode[] }[] = [];
    let otherwise: WorkflowNode[] | undefined;
    arms.forEach((arm, i) => {
      if ('otherwise' in arm) {
        if (otherwise !== undefined || i !== arms.length - 1) {
          this.problems.push({
            code: 'unreachable-arm',
            path: ['steps', index, 'arms', i],
            message:
              'The `otherwise` arm must be the last arm, and there can be only one: arms after it never run',
          });
        }
        otherwise ??= this.sub(arm.otherwise, ['steps', index, 'arms', i, 'otherwise']);
      } else
        guarded.push({
          when: arm.when as GuardRef,
          nodes: this.sub(arm.then, ['steps', index, 'arms', i, 'then']),
        });
    });
    this.nodes.push(keepOptions({ kind: 'branch', name, arms: guarded, otherwise }, arms));
    return this as never;
  }

  /**
   * One step per item of a list, at most `concurrency` at a time; the result is an array in item order (an item
   * skipped is `null`). When `items` is a function, `item` in the step's `input` mapping has its element type.
   *
   * @example
   * ```ts
   * b.map('check', { items: 'results.list.tables', step: { agent: 'checkTable' }, concurrency: 4 })
   * ```
   */
  map<
    N extends string,
    T = unknown,
    G extends AgentName<A> | undefined = undefined,
    C = never,
    E extends OnError | undefined = undefined,
    X extends false | EscalationPolicy | undefined = undefined,
  >(
    name: N,
    options: MapOptions<I, T, R> & { readonly step: StepTypeHooks<G, C, E, X> },
  ): Next<
    this,
    With<R, N, ReadonlyArray<Runs<A, G, C> | Skippable<E, X, S>> | ([S] extends [never] ? never : null)>
  > {
    this.nodes.push(
      keepOptions(
        {
          kind: 'map',
          name,
          items: options.items as Mapping,
          step: options.step as StepOptions,
          concurrency: options.concurrency ?? 1,
        },
        options,
      ),
    );
    return this as never;
  }

  /**
   * A bounded cycle, as agents use for generate-critique-revise: the body runs, then `until` is tested. In the
   * body, results of any name may be read (a step may read a later one's result of the round before); after the
   * loop, and in `until`, the body's results are typed.
   *
   * @example
   * ```ts
   * b.loop('refine', (x) => x.step('draft').step('critique'), { until: 'results.critique.ok', maxIterations: 3 })
   * ```
   */
  loop<B>(
    name: string,
    body: (b: SequenceBuilder<I, Flat<R & OpenResults>, S, A>) => B,
    options: LoopOptions<I, AfterLoop<B, R>>,
  ): Next<this, AfterLoop<B, R>> {
    this.nodes.push(
      keepOptions(
        {
          kind: 'loop',
          name,
          body: this.sub(body as (b: SequenceBuilder<I, R, S, A>) => unknown, [
            'steps',
            this.nodes.length,
            'body',
          ]),
          until: options.until as GuardRef,
          maxIterations: options.maxIterations,
          onMaxIterations: options.onMaxIterations ?? 'continue',
        },
        options,
      ),
    );
    return this as never;
  }

  /**
   * Waits for an event from outside, such as a human approval sent with `run.send({ type: 'approve', by })`.
   * Its result is typed by `schema` (`null` with `onTimeout: 'skip'`).
   *
   * @example
   * ```ts
   * b.waitFor('approval', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
   * ```
   */
  waitFor<N extends string, T = unknown, W extends 'fail' | 'skip' | undefined = undefined>(
    name: N,
    options: WaitForOptions<T> & { readonly onTimeout?: W },
  ): Next<this, With<R, N, T | (W extends 'skip' ? null : never) | S>> {
    this.nodes.push(
      keepOptions(
        {
          kind: 'wait',
          name,
          event: options.event,
          schema: options.schema,
          timeoutMs: options.timeoutMs,
          onTimeout: options.onTimeout ?? 'fail',
        },
        options,
      ),
    );
    return this as never;
  }

  /**
   * The nodes a callback adds to a fresh builder. A callback that is missing (a misspelled `then`, from JavaScript)
   * is reported at build, with its path, rather than thrown at once as a `TypeError`.
   */
  private sub(fill: (b: SequenceBuilder<I, R, S, A>) => unknown, path: (string | number)[]): WorkflowNode[] {
    const builder = new SequenceBuilder<I, R, S, A>(this.problems);
    if (typeof fill === 'function') fill(builder);
    else
      this.problems.push({
        code: 'not-a-function',
        path,
        message: `Expected a function that adds the steps (b) => b.step(...), got ${fill === undefined ? 'nothing' : typeof fill}`,
      });
    return builder.nodes;
  }
}

/** The results after a loop whose body returned `B`: the body's, typed again, or open if it could not be followed. */
type AfterLoop<B, R> =
  IsUntracked<ResultsOf<B, R>> extends true ? ResultsOf<B, R> : Flat<R & Known<ResultsOf<B, R>>>;

/** The output type of a workflow without an `output` schema: its results record. */
type ResultsOutput = Readonly<Record<string, unknown>>;
/**
 * A run's output: the `output` schema's type when the workflow has one, else its results as the builder typed them
 * (`R`: each step's result by name, open where the builder could not follow).
 */
type OutputOf<O, R> = [O] extends [ResultsOutput] ? ([ResultsOutput] extends [O] ? Flat<R> : O) : O;
/**
 * What `engine.start` takes: the input schema's input type `In` (zod's `z.input`) when it was inferred from the
 * schema, else (no schema, or type arguments given, which leave `In` unknown) the declared input type `I`.
 */
type StartInput<I, In> = unknown extends In ? I : In;

/** The root builder: a sequence plus `.agents<typeof agents>()` and `build()`. */
export class WorkflowBuilder<
  I = unknown,
  O = Readonly<Record<string, unknown>>,
  R = OpenResults,
  S = null,
  A = unknown,
  In = unknown,
> extends SequenceBuilder<I, R, S, A> {
  /**
   * Type carrier only (never set): the `output` type the workflow was declared with and the input schema's input
   * type (see `StartInput`), kept from step to step.
   */
  declare readonly $output: { readonly output: O; readonly startInput: In };
  readonly #id: string;
  readonly #options: WorkflowOptions<I, O, In>;

  /** @internal use {@link workflow} */
  constructor(id: string, options: WorkflowOptions<I, O, In>) {
    super();
    this.#id = id;
    this.#options = options;
  }

  /**
   * Declares the type of the agent registry the workflow runs with (types only: the engine's `agents` still
   * supply the agents). Then each step's result is typed as its agent's output, and agent names are checked.
   *
   * @example
   * ```ts
   * const agents = { lookup: async ({ name }: { name: string }) => ({ name, title: 'Countess' }) };
   * workflow('hello').agents<typeof agents>()
   *   .step('lookup')
   *   .step('greet', { input: (ctx) => ctx.results.lookup.title }); // ctx.results.lookup: { name: string; title: string }
   * ```
   */
  agents<Registry extends AgentRegistry>(): WorkflowBuilder<I, O, R, S, Registry, In> {
    return this as never;
  }

  /**
   * Checks the definition and returns it with its compiled XState machine.
   * Throws a `WorkflowDefinitionError` listing every problem with its path.
   */
  build(): WorkflowDefinition<I, OutputOf<O, R>, StartInput<I, In>> {
    const spec = { id: this.#id, options: this.#options as WorkflowOptions, nodes: this.nodes };
    if (this.problems.length > 0)
      throw new WorkflowDefinitionError(this.#id, [...this.problems, ...checkSpec(spec)]);
    return createDefinition<I, OutputOf<O, R>, StartInput<I, In>>(spec);
  }
}

/**
 * Starts a workflow definition. `input` and `output` zod schemas type and validate the run's data. Step results
 * are typed from there on (see {@link WorkflowBuilder.agents}); with `onError: 'skip'` each may be `null`.
 *
 * @example
 * ```ts
 * const wf = workflow('greet', { input: z.object({ name: z.string() }) })
 *   .step('hello', { agent: 'hello' })
 *   .build();
 * ```
 */
export function workflow<I = unknown, O = Readonly<Record<string, unknown>>, In = unknown>(
  id: string,
  options?: WorkflowOptions<I, O, In> & { readonly onError?: 'fail' | 'compensate' },
  // biome-ignore lint/complexity/noBannedTypes: no step has run yet
): WorkflowBuilder<I, O, {}, never, unknown, In>;
export function workflow<I = unknown, O = Readonly<Record<string, unknown>>, In = unknown>(
  id: string,
  options?: WorkflowOptions<I, O, In>,
  // biome-ignore lint/complexity/noBannedTypes: no step has run yet
): WorkflowBuilder<I, O, {}, null, unknown, In>;
export function workflow<I = unknown, O = Readonly<Record<string, unknown>>, In = unknown>(
  id: string,
  options: WorkflowOptions<I, O, In> = {},
): WorkflowBuilder<I, O, OpenResults, null, unknown, In> {
  return new WorkflowBuilder<I, O, OpenResults, null, unknown, In>(id, options);
}
