import type { ZodType } from 'zod';
import type {
  GuardRef,
  Mapping,
  StepOptions,
  WorkflowContext,
  WorkflowDefinition,
  WorkflowNode,
  WorkflowOptions,
} from '../model/definition.js';
import { type DefinitionProblem, WorkflowDefinitionError } from '../model/errors.js';
import { checkSpec } from './checks.js';
import { createDefinition } from './definition.js';

/** One arm of `.branch(...)`: a guarded arm, or the `otherwise` arm that must come last. */
export type BranchArmInput<I> =
  | { readonly when: GuardRef<I>; readonly then: (b: SequenceBuilder<I>) => unknown }
  | { readonly otherwise: (b: SequenceBuilder<I>) => unknown };

/** What a `map` item's `input` mapping sees: the workflow context plus the item and its index. */
export interface MapItemContext<I = unknown> extends WorkflowContext<I> {
  readonly item: unknown;
  readonly index: number;
}

/** Options of `.map(...)`. */
export interface MapOptions<I> {
  /** The list to fan out over: a function of the context, or a data path such as `results.list.tables`. */
  readonly items: Mapping<I, readonly unknown[]>;
  /** The step run for each item. Its agent receives the item unless `input` maps it otherwise. */
  readonly step: Omit<StepOptions<I>, 'input'> & { input?: ((ctx: MapItemContext<I>) => unknown) | string };
  /** How many items run at once. @default 1 */
  readonly concurrency?: number;
}

/** Options of `.loop(...)`. */
export interface LoopOptions<I> {
  /** Tested after each round; the loop ends when it holds. */
  readonly until: GuardRef<I>;
  /** The bound: at most this many rounds. */
  readonly maxIterations: number;
  /** What happens when the bound is hit before `until` holds. @default 'continue' */
  readonly onMaxIterations?: 'continue' | 'fail';
}

/** Options of `.waitFor(...)`. */
export interface WaitForOptions {
  /** The event type that `run.send({ type, ...payload })` delivers. */
  readonly event: string;
  /** Validates the payload (the event without `type`); the parsed value is the step's result. */
  readonly schema?: ZodType;
  /** How long to wait. */
  readonly timeoutMs: number;
  /** What happens when no event comes in time. @default 'fail' */
  readonly onTimeout?: 'fail' | 'skip';
}

/**
 * Builds a sequence of nodes; `.parallel`, `.branch` and `.loop` hand a fresh one to their callbacks.
 * Every method appends and returns the same builder.
 */
export class SequenceBuilder<I = unknown> {
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
   *
   * @example
   * ```ts
   * workflow('w').step('introspect', { agent: 'introspector', retry: { attempts: 3 }, timeoutMs: 5_000 })
   * ```
   */
  step(name: string, options: StepOptions<I> = {}): this {
    const resolved =
      options.agent === undefined && options.workflow === undefined ? { ...options, agent: name } : options;
    this.nodes.push({ kind: 'step', name, options: resolved as StepOptions });
    return this;
  }

  /**
   * Regions that run at once and join when all are done (an XState parallel state).
   *
   * @example
   * ```ts
   * b.parallel('analyze', { tables: (r) => r.step('tableStats'), indexes: (r) => r.step('indexUsage') })
   * ```
   */
  parallel(
    name: string,
    regions: Readonly<Record<string, (b: SequenceBuilder<I>) => unknown>>,
    options: { readonly failFast?: boolean } = {},
  ): this {
    const built: Record<string, WorkflowNode[]> = {};
    for (const [region, fill] of Object.entries(regions)) built[region] = this.sub(fill);
    this.nodes.push({ kind: 'parallel', name, regions: built, failFast: options.failFast ?? true });
    return this;
  }

  /**
   * Guarded arms tried in order (XState guarded transitions); the `otherwise` arm comes last.
   *
   * @example
   * ```ts
   * b.branch('triage', [
   *   { when: 'hasCritical', then: (x) => x.step('review', { escalate: { to: 'human', timeoutMs: 60_000 } }) },
   *   { otherwise: (x) => x.step('report') },
   * ])
   * ```
   */
  branch(name: string, arms: ReadonlyArray<BranchArmInput<I>>): this {
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
        otherwise ??= this.sub(arm.otherwise);
      } else guarded.push({ when: arm.when as GuardRef, nodes: this.sub(arm.then) });
    });
    this.nodes.push({ kind: 'branch', name, arms: guarded, otherwise });
    return this;
  }

  /**
   * One step per item of a list, at most `concurrency` at a time; the result is an array in item order.
   *
   * @example
   * ```ts
   * b.map('check', { items: 'results.list.tables', step: { agent: 'checkTable' }, concurrency: 4 })
   * ```
   */
  map(name: string, options: MapOptions<I>): this {
    this.nodes.push({
      kind: 'map',
      name,
      items: options.items as Mapping,
      step: options.step as StepOptions,
      concurrency: options.concurrency ?? 1,
    });
    return this;
  }

  /**
   * A bounded cycle, as agents use for generate-critique-revise: the body runs, then `until` is tested.
   *
   * @example
   * ```ts
   * b.loop('refine', (x) => x.step('draft').step('critique'), { until: 'results.critique.ok', maxIterations: 3 })
   * ```
   */
  loop(name: string, body: (b: SequenceBuilder<I>) => unknown, options: LoopOptions<I>): this {
    this.nodes.push({
      kind: 'loop',
      name,
      body: this.sub(body),
      until: options.until as GuardRef,
      maxIterations: options.maxIterations,
      onMaxIterations: options.onMaxIterations ?? 'continue',
    });
    return this;
  }

  /**
   * Waits for an event from outside, such as a human approval sent with `run.send({ type: 'approve', by })`.
   *
   * @example
   * ```ts
   * b.waitFor('approval', { event: 'approve', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
   * ```
   */
  waitFor(name: string, options: WaitForOptions): this {
    this.nodes.push({
      kind: 'wait',
      name,
      event: options.event,
      schema: options.schema,
      timeoutMs: options.timeoutMs,
      onTimeout: options.onTimeout ?? 'fail',
    });
    return this;
  }

  private sub(fill: (b: SequenceBuilder<I>) => unknown): WorkflowNode[] {
    const builder = new SequenceBuilder<I>(this.problems);
    fill(builder);
    return builder.nodes;
  }
}

/** The root builder: a sequence plus `build()`. */
export class WorkflowBuilder<I = unknown, O = Readonly<Record<string, unknown>>> extends SequenceBuilder<I> {
  readonly #id: string;
  readonly #options: WorkflowOptions<I, O>;

  /** @internal use {@link workflow} */
  constructor(id: string, options: WorkflowOptions<I, O>) {
    super();
    this.#id = id;
    this.#options = options;
  }

  /**
   * Checks the definition and returns it with its compiled XState machine.
   * Throws a `WorkflowDefinitionError` listing every problem with its path.
   */
  build(): WorkflowDefinition<I, O> {
    const spec = { id: this.#id, options: this.#options as WorkflowOptions, nodes: this.nodes };
    if (this.problems.length > 0)
      throw new WorkflowDefinitionError(this.#id, [...this.problems, ...checkSpec(spec)]);
    return createDefinition<I, O>(spec);
  }
}

/**
 * Starts a workflow definition. `input` and `output` zod schemas type and validate the run's data.
 *
 * @example
 * ```ts
 * const wf = workflow('greet', { input: z.object({ name: z.string() }) })
 *   .step('hello', { agent: 'hello' })
 *   .build();
 * ```
 */
export function workflow<I = unknown, O = Readonly<Record<string, unknown>>>(
  id: string,
  options: WorkflowOptions<I, O> = {},
): WorkflowBuilder<I, O> {
  return new WorkflowBuilder<I, O>(id, options);
}
