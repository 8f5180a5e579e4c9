/**
 * Step views made without a watch: the steps of a run that ended before anyone watched it. The engine keeps them
 * (cheaply, as steps end) so that a watch set up later still lists every step with its times.
 */
import type { StepSnapshot } from '../machine/step-types.js';
import { failureReason, stepUsage } from './events.js';
import { actorStepKind, type StepView, startedView } from './views.js';

/**
 * The view of a step actor that ended, from its final snapshot.
 *
 * @example
 * ```ts
 * ledger.push(endedStepView(snapshot, clock.now()));
 * ```
 */
export function endedStepView(s: StepSnapshot, now: number): StepView {
  const last = s.history[s.history.length - 1];
  const view = startedView(s.input.path, actorStepKind(s.input.path), s.startedAt, true, s.agent);
  view.status = s.status === 'done' ? 'done' : 'failed';
  view.phase = s.phase;
  view.attempt = s.attempts;
  view.attemptStartedAt = last?.startedAt ?? s.startedAt;
  view.endedAt = last?.endedAt ?? now;
  view.usage = stepUsage(s);
  if (s.status === 'error') view.error = failureReason(s.error);
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
