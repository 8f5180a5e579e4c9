/**
 * What a watch keeps about a run: one view per step path, and one per machine actor (the root and child
 * workflows), which is what the ETA walks.
 */
import type { AnyActorRef, StateValue } from 'xstate';
import { isMapSnapshot } from '../machine/map-types.js';
import type { StepPhase, StepSnapshot } from '../machine/step-types.js';
import type { TokenUsage } from '../model/agent.js';
import type { LiveContext, LiveMachine, LiveMap, LiveStep } from './live.js';
import type { Plan, PlanNode } from './plan.js';
import type { StepKind, StepStatus } from './progress.js';

/**
 * A step that started, as the watch last saw it.
 *
 * @example
 * ```ts
 * const view: StepView | undefined = watch.steps.get('fetch');
 * ```
 */
export interface StepView extends LiveStep {
  readonly path: string;
  readonly kind: StepKind;
  /** Reported by a step actor (else it follows its state's entry and exit). */
  readonly fromActor: boolean;
  status: Exclude<StepStatus, 'pending'>;
  phase: StepPhase | undefined;
  attempt: number;
  agent: string | undefined;
  startedAt: number;
  attemptStartedAt: number;
  endedAt: number | undefined;
  deadline: number | undefined;
  error: string | undefined;
  /** Tokens its attempts reported (LLM agents); absent until one does. */
  usage?: TokenUsage | undefined;
  /**
   * The session id of the step actor reporting it (ids, not the actor: a finished actor must not be kept alive),
   * its last snapshot while it runs, and whether the watch subscribed to it.
   */
  actorId?: string;
  snapshot?: StepSnapshot | undefined;
  subscribed?: boolean;
}

/**
 * A new view of a step that starts now.
 *
 * @example
 * ```ts
 * watch.steps.set('fetch', startedView('fetch', 'step', Date.now(), false));
 * ```
 */
export function startedView(
  path: string,
  kind: StepKind,
  at: number,
  fromActor: boolean,
  agent?: string,
): StepView {
  return {
    path,
    kind,
    fromActor,
    status: 'running',
    phase: undefined,
    attempt: 1,
    agent,
    startedAt: at,
    attemptStartedAt: at,
    endedAt: undefined,
    deadline: undefined,
    error: undefined,
  };
}

/**
 * The kind of a step reported by a step actor, from its path.
 *
 * @example
 * ```ts
 * actorStepKind('check[3]'); // 'item'
 * ```
 */
export function actorStepKind(path: string): StepKind {
  if (path.endsWith('/compensate')) return 'compensation';
  return ITEM.test(path) ? 'item' : 'step';
}

const ITEM = /\[\d+\]$/;

/**
 * The history key of a step path: map items share one (`map[*]`), since items differ from run to run.
 *
 * @example
 * ```ts
 * historyKey('check[3]'); // 'check[*]'
 * ```
 */
export function historyKey(path: string): string {
  // Most paths are not items: a character test spares them the regular expression (this runs for every step).
  return path.charCodeAt(path.length - 1) === 93 ? path.replace(ITEM, '[*]') : path;
}

/**
 * The machine views of one run, by actor: each run watch holds its own (weakly, since map items come and go), so no
 * registry outlives its run.
 *
 * @example
 * ```ts
 * const views = new MachineViews();
 * const view = views.for(actor, planOf(snapshot.machine));
 * ```
 */
export class MachineViews {
  private readonly byActor = new WeakMap<AnyActorRef, MachineView>();

  /** The view of a machine actor, if it was seen. */
  of(actor: AnyActorRef): MachineView | undefined {
    return this.byActor.get(actor);
  }

  /** The view of a machine actor, created on first sight. */
  for(actor: AnyActorRef, plan: Plan): MachineView {
    let view = this.byActor.get(actor);
    if (!view) {
      view = new MachineView(plan, this);
      this.byActor.set(actor, view);
    }
    return view;
  }
}

/**
 * A machine actor of the run, as the ETA reads it.
 *
 * @example
 * ```ts
 * const left = remainingOf(views.for(actor, plan), ctx);
 * ```
 */
export class MachineView implements LiveMachine {
  value: StateValue = {};
  prefix = '';
  context: (LiveContext & Record<string, unknown>) | undefined;
  children: Readonly<Record<string, AnyActorRef | undefined>> = {};
  /** The last snapshot seen, to skip repeats. */
  snapshot: unknown;
  /** Active nodes that carry step meta, and when each was entered (arrays: a handful at a time). */
  active: PlanNode[] = [];
  entered: number[] = [];
  /** How much of the context's `skipped` list was handled. */
  skippedSeen = 0;

  constructor(
    readonly plan: Plan,
    private readonly views: MachineViews,
  ) {}

  enteredAt(node: PlanNode): number | undefined {
    const i = this.active.indexOf(node);
    return i < 0 ? undefined : this.entered[i];
  }

  child(invokeId: string): MachineView | undefined {
    const actor = this.children[invokeId];
    return actor ? this.views.of(actor) : undefined;
  }

  map(invokeId: string): LiveMap | undefined {
    const s = this.children[invokeId]?.getSnapshot();
    if (!isMapSnapshot(s) || s.status !== 'active') return undefined;
    const { state } = s;
    return { total: state.input.inputs.length, next: state.next, running: [...state.running.keys()] };
  }
}
