/**
 * The step part of a run watch: a step's view from its step actor's snapshots (its attempts, phases and end), or
 * from its state's entry and exit (a hand-written step, a wait, a child workflow), with its events and history.
 */
import type { AnyActorRef } from 'xstate';
import type { StepSnapshot } from '../machine/step-types.js';
import { failureReason, levelOf, type StepLogEvent, stepEvents, stepUsage } from './events.js';
import { actorStepKind, historyKey, type StepView, startedView } from './views.js';
import type { WatchState } from './watch-state.js';

/**
 * The steps of one run watch.
 *
 * @example
 * ```ts
 * const view = new StepTracker(watch).startStateStep('approve', 'wait');
 * ```
 */
export class StepTracker {
  private eventListeners: Set<(event: StepLogEvent) => void> | undefined;

  constructor(private readonly watch: WatchState) {}

  /** Calls `listener` for every step event from now on; returns the function that stops it. */
  onEvent(listener: (event: StepLogEvent) => void): () => void {
    this.eventListeners ??= new Set();
    this.eventListeners.add(listener);
    return () => this.eventListeners?.delete(listener);
  }

  /** Whether step events have an audience: a listener, or a logger at `info` or below. */
  wantsEvents(): boolean {
    return (
      !!this.eventListeners?.size ||
      (this.watch.following && this.watch.logger?.isLevelEnabled('info') === true)
    );
  }

  /** Writes a step event to the log and to its listeners. */
  emit(event: StepLogEvent): void {
    const logger = this.watch.logger;
    const level = levelOf(event.type);
    if (logger?.isLevelEnabled(level)) {
      const { type, path, ...details } = event;
      logger[level](
        {
          workflowId: this.watch.runId,
          workflow: this.watch.workflowId,
          step: path,
          event: type,
          ...details,
        },
        `step ${type}`,
      );
    }
    if (!this.eventListeners?.size) return;
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event);
      } catch {
        // As for change listeners: one failing listener does not silence the others.
      }
    }
  }

  /** Reads a step actor's snapshot: its view, its events, and its duration once done. */
  onStep(actor: AnyActorRef, s: StepSnapshot): void {
    const path = s.input.path;
    let view = this.watch.steps.get(path);
    // The same path run again (a loop's next round) is a new actor: a new view.
    if (view?.actorId !== actor.sessionId) {
      view = startedView(path, actorStepKind(path), s.startedAt, true, s.agent);
      view.actorId = actor.sessionId;
      this.watch.steps.delete(path);
      this.watch.steps.set(path, view);
    }
    const prev = view.snapshot;
    // An ended step has nothing more to tell (and its snapshot is let go).
    if (prev === s || (prev === undefined && view.status !== 'running')) return;
    view.snapshot = s.status === 'active' ? s : undefined;
    this.watch.touch();
    const now = this.watch.clock.now();
    const last = s.history[s.history.length - 1];
    view.phase = s.phase;
    view.attempt = s.attempts;
    view.agent = s.agent;
    view.startedAt = s.startedAt;
    view.attemptStartedAt = last?.startedAt ?? s.startedAt;
    view.deadline = s.deadline;
    view.usage = stepUsage(s);
    if (s.status !== 'active') view.endedAt ??= now;
    if (s.status === 'done') view.status = 'done';
    else if (s.status === 'stopped') view.status = 'cancelled';
    else if (s.status === 'error') {
      view.status = 'failed';
      view.error = failureReason(s.error);
    }
    // A failure, and an escalation (someone has to decide now), are shown at once, whatever the throttle.
    const escalated = (s.phase === 'escalated' || s.phase === 'supervising') && prev?.phase !== s.phase;
    if (s.status === 'error' || escalated) this.watch.touch(true);
    if (this.wantsEvents()) for (const event of stepEvents(prev, s, now)) this.emit(event);
    if (s.status === 'done' && prev?.status !== 'done') {
      this.watch.record(view.kind === 'item' ? historyKey(path) : path, (last?.endedAt ?? now) - s.startedAt);
      if (view.kind === 'compensation') {
        const undone = path.slice(0, -'/compensate'.length);
        this.emit({ path: undone, at: now, attempt: view.attempt, type: 'compensated', by: path });
      }
    }
  }

  /**
   * A step that a state's entry and exit drive (a hand-written step, a wait, a child workflow), started now or at
   * `at` if earlier (a wait whose deadline tells when it began).
   */
  startStateStep(path: string, kind: StepView['kind'], agent?: string, at?: number): StepView {
    const now = this.watch.clock.now();
    const view = startedView(path, kind, at === undefined ? now : Math.min(now, at), false, agent);
    this.watch.steps.delete(path);
    this.watch.steps.set(path, view);
    if (this.wantsEvents())
      this.emit({ path, at: view.startedAt, attempt: 1, type: 'started', ...(agent ? { agent } : {}) });
    return view;
  }

  /** Ends a state-driven step (or marks any step skipped), with its events. */
  endStep(view: StepView, status: 'done' | 'failed' | 'cancelled' | 'skipped', reason?: string): void {
    const at = this.watch.clock.now();
    const wasRunning = view.status === 'running';
    view.status = status;
    view.endedAt ??= at;
    if (reason !== undefined) view.error = reason;
    if (status === 'done') this.watch.record(view.path, at - view.startedAt);
    if (status === 'failed') this.watch.touch(true);
    if (!this.wantsEvents()) return;
    const base = { path: view.path, at, attempt: view.attempt };
    if (status === 'done') this.emit({ ...base, type: 'done', durationMs: at - view.startedAt });
    else if (status === 'failed') this.emit({ ...base, type: 'failed', reason: reason ?? 'failed' });
    else if (status === 'cancelled') {
      if (wasRunning) this.emit({ ...base, type: 'cancelled' });
    } else
      this.emit({
        ...base,
        type: 'skipped',
        ...(view.error !== undefined ? { reason: view.error } : {}),
      });
  }
}
