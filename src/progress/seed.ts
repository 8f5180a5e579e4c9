/**
 * Step views made without a watch: the steps of a run that ended before anyone watched it. The engine keeps them
 * (cheaply, as steps end) so that a watch set up later still lists every step with its times.
 */

import type { StepPhase, StepSnapshot } from '../machine/step-types.js';
import type { TokenUsage } from '../model/agent.js';
import { failureReason, stepUsage } from './events.js';
import { actorStepKind, type StepView, startedView } from './views.js';

/**
 * What is kept of a step actor that ended, until a watch comes (most runs are never watched): the fields of its view,
 * not its final snapshot, which also holds the step's input and attempt history. Kept for every ended step of every
 * run in flight, so it is small and of one shape: about 0.15 KB against the snapshot's 0.4 KB.
 *
 * @example
 * ```ts
 * ledger.push(new EndedStep(snapshot, clock.now()));
 * ```
 */
export class EndedStep {
  readonly path: string;
  readonly agent: string;
  readonly failed: boolean;
  readonly phase: StepPhase;
  readonly attempts: number;
  readonly startedAt: number;
  readonly attemptStartedAt: number;
  readonly endedAt: number;
  readonly usage: TokenUsage | undefined;
  readonly error: string | undefined;

  constructor(s: StepSnapshot, now: number) {
    const last = s.history[s.history.length - 1];
    this.path = s.input.path;
    this.agent = s.agent;
    this.failed = s.status !== 'done';
    this.phase = s.phase;
    this.attempts = s.attempts;
    this.startedAt = s.startedAt;
    this.attemptStartedAt = last?.startedAt ?? s.startedAt;
    this.endedAt = last?.endedAt ?? now;
    this.usage = stepUsage(s);
    this.error = s.status === 'error' ? failureReason(s.error) : undefined;
  }
}

/**
 * The view of a step actor that ended.
 *
 * @example
 * ```ts
 * const views = ledger.map(endedStepView);
 * ```
 */
export function endedStepView(e: EndedStep): StepView {
  const view = startedView(e.path, actorStepKind(e.path), e.startedAt, true, e.agent);
  view.status = e.failed ? 'failed' : 'done';
  view.phase = e.phase;
  view.attempt = e.attempts;
  view.attemptStartedAt = e.attemptStartedAt;
  view.endedAt = e.endedAt;
  view.usage = e.usage;
  view.error = e.error;
  return view;
}

/**
 * The view of a wait or child workflow step that ended well.
 *
 * @example
 * ```ts
 * ledger.push(endedStateView('approve', 'wait', enteredAt, clock.now()));
 * ```
 */
export function endedStateView(
  path: string,
  kind: 'wait' | 'workflow',
  startedAt: number,
  now: number,
): StepView {
  const view = startedView(path, kind, startedAt, false);
  view.status = 'done';
  view.endedAt = now;
  return view;
}
