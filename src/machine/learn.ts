import type { AnyActorRef, AnyEventObject } from 'xstate';
import type { MachineContext } from './context.js';
import type { StepSnapshot } from './step-types.js';

/**
 * What a compiled machine tells the ETA's history as it runs: a call when a step, wait, map or child workflow ends
 * well, a branch picks an arm, or a loop ends. The engine used to learn this by watching every run's snapshots; a
 * call at the moment costs a small fraction of that and holds no memory while a run waits.
 *
 * Paths are full step paths of the run (`child/scan`, `check[3]`); `runId` is the run's id, which the learner maps
 * to its workflow.
 *
 * @example
 * ```ts
 * const learner: Learner = {
 *   started: (runId, path) => starts.set(`${runId} ${path}`, Date.now()),
 *   finished: (runId, path, startedAt) => console.log(path, Date.now() - (startedAt ?? starts.get(`${runId} ${path}`)!)),
 *   chose: (runId, path, choice) => console.log(path, choice),
 *   stepEnded: (snapshot) => console.log(snapshot.input.path, snapshot.status),
 * };
 * ```
 */
export interface Learner {
  /** Something at `path` started now, with no start time of its own to read later (a map, a child workflow). */
  started(runId: string, path: string): void;
  /**
   * Something at `path` ended well now; it started at `startedAt`, or when `started` was told. `step` says it is a
   * step of the step list (a wait, a child workflow), not a map as a whole.
   */
  finished(runId: string, path: string, startedAt?: number, step?: 'wait' | 'workflow'): void;
  /** A branch took an arm (`'0'`, `'otherwise'`), or a loop ended after some rounds (`'3'`). */
  chose(runId: string, path: string, choice: string): void;
  /** A step actor ended done or failed (its final snapshot). */
  stepEnded(snapshot: StepSnapshot): void;
}

/** The arguments XState gives an inline action that the learner uses. */
interface ActionArgs {
  readonly context: MachineContext;
  readonly self: AnyActorRef;
  readonly event: AnyEventObject;
}

/**
 * XState actions that tell a learner, or none without one (a machine compiled without an engine learns nothing).
 *
 * @example
 * ```ts
 * const entry = learning(learner, (l, c) => l.chose(c.workflowId, `${c.pathPrefix}triage`, '0'));
 * ```
 */
export function learning(
  learner: Learner | undefined,
  tell: (learner: Learner, context: MachineContext, self: AnyActorRef, event: AnyEventObject) => void,
): Array<(args: ActionArgs) => void> {
  if (!learner) return [];
  return [({ context, self, event }) => tell(learner, context, self, event)];
}
