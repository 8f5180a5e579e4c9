/**
 * Step views made without a watch: the steps of a run that ended before anyone watched it. The engine keeps them
 * (cheaply, as steps end) so that a watch set up later still lists every step with its times.
 */

import type { StepSnapshot } from '../machine/step-types.js';
import { failureReason, stepUsage } from './events.js';
import { actorStepKind, type StepView, startedView } from './views.js';

/** Slots of a packed step in a {@link StepLedger}: path, agent, attempts and three times. */
const PACKED = 6;

/**
 * The steps of one run that ended while nobody watched it, in the order they ended, until a watch comes (most runs
 * are never watched). A ledger is kept for every run in flight, and what a run in flight keeps alive each scavenge
 * copies again, so the common entry, an agent step that ended well without reporting tokens, is packed into the
 * ledger's one array: its path and agent by reference (strings its snapshot already held), its attempts, and its three
 * times as offsets, which stay small integers where absolute times would be a heap number each. That is 24 bytes a
 * step against about 150 as an object with its times (measured with heap snapshots: `heap-shapes.mjs`). A failed
 * step, one with token usage, and a wait or child workflow are kept as views.
 *
 * @example
 * ```ts
 * const ledger = new StepLedger();
 * ledger.step(snapshot, clock.now());
 * const views = ledger.views();
 * ```
 */
export class StepLedger {
  /** Packed steps (a string path first) and views, in the order they ended. */
  readonly #slots: unknown[] = [];
  /** The time offsets count from here, the start of the first step packed: a time of the run, so they stay small. */
  #base: number | undefined;

  /** A step actor ended (`endedAt`: its last attempt's end, or now). */
  step(s: StepSnapshot, endedAt: number): void {
    const usage = stepUsage(s);
    const last = s.history[s.history.length - 1];
    const attemptStartedAt = last?.startedAt ?? s.startedAt;
    // Packed only if its times come back exact: whole milliseconds (a clock of fractions, a time a migration left
    // out, would not), else kept as a view like a failure.
    if (
      s.status === 'done' &&
      s.phase === 'done' &&
      usage === undefined &&
      Number.isSafeInteger(s.startedAt)
    ) {
      this.#base ??= s.startedAt;
      const started = s.startedAt - this.#base;
      const waited = attemptStartedAt - s.startedAt;
      const ran = endedAt - attemptStartedAt;
      if (Number.isSafeInteger(waited) && Number.isSafeInteger(ran)) {
        this.#slots.push(s.input.path, s.agent, s.attempts, started, waited, ran);
        return;
      }
    }
    const view = startedView(s.input.path, actorStepKind(s.input.path), s.startedAt, true, s.agent);
    view.status = s.status === 'done' ? 'done' : 'failed';
    view.phase = s.phase;
    view.attempt = s.attempts;
    view.attemptStartedAt = attemptStartedAt;
    view.endedAt = endedAt;
    view.usage = usage;
    view.error = s.status === 'error' ? failureReason(s.error) : undefined;
    this.#slots.push(view);
  }

  /** A step that is not a step actor (a wait, a child workflow) ended: its view. */
  view(view: StepView): void {
    this.#slots.push(view);
  }

  /** New views of the steps kept, in the order they ended: a watch updates the views it is given. */
  views(): StepView[] {
    const out: StepView[] = [];
    const slots = this.#slots;
    for (let i = 0; i < slots.length; ) {
      const slot = slots[i];
      if (typeof slot !== 'string') {
        out.push({ ...(slot as StepView) });
        i++;
        continue;
      }
      const startedAt = (this.#base as number) + (slots[i + 3] as number);
      const attemptStartedAt = startedAt + (slots[i + 4] as number);
      const view = startedView(slot, actorStepKind(slot), startedAt, true, slots[i + 1] as string);
      view.status = 'done';
      view.attempt = slots[i + 2] as number;
      view.phase = 'done';
      view.attemptStartedAt = attemptStartedAt;
      view.endedAt = attemptStartedAt + (slots[i + 5] as number);
      view.usage = undefined;
      out.push(view);
      i += PACKED;
    }
    return out;
  }
}

/**
 * The view of a wait or child workflow step that ended well.
 *
 * @example
 * ```ts
 * ledger.view(endedStateView('approve', 'wait', enteredAt, clock.now()));
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
