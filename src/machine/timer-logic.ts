import type { ActorLogic } from 'xstate';
import { objectSlot } from '../model/object-slot.js';
import { type Clock, scheduleAt } from './clock.js';

/** The snapshot of a deadline timer: done (with `null`) when `deadline` passes. */
export type TimerSnapshot = { readonly deadline: number } & (
  | { readonly status: 'active' | 'stopped'; readonly output: undefined; readonly error: undefined }
  | { readonly status: 'done'; readonly output: null; readonly error: undefined }
);

type TimerEvent = { readonly type: 'flowstate.timer.fired' } | { readonly type: 'xstate.stop' };

/** The deadline timer actor logic, as XState sees it. */
export type TimerLogic = ActorLogic<TimerSnapshot, TimerEvent, { readonly delayMs: number }>;

/**
 * A timer actor that keeps an absolute deadline in its snapshot, so a restored timer waits only what is left
 * (XState's `after` delays are not restored, #5331). Used for `waitFor` deadlines.
 */
export function createTimerLogic(clock: Clock): TimerLogic {
  // On the timer actor, not in a WeakMap of this engine's: the cancel function holds the actor (through the timer's
  // callback), and such an entry would outlive young-generation collections with its actor (objectSlot).
  const cancels = objectSlot<() => void>('flowstate.timer.cancel');
  return {
    config: 'flowstate.timer',
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      deadline: clock.now() + input.delayMs,
    }),
    start: (s, { self }) => {
      if (s.status !== 'active') return;
      cancels.set(
        self,
        scheduleAt(clock, s.deadline, () => {
          if (self.getSnapshot().status === 'active') self.send({ type: 'flowstate.timer.fired' });
        }),
      );
    },
    transition: (s, event, { self }) => {
      if (s.status !== 'active') return s;
      if (event.type === 'flowstate.timer.fired')
        return { ...s, status: 'done', output: null, error: undefined };
      if (event.type === 'xstate.stop') {
        cancels.get(self)?.();
        return { ...s, status: 'stopped', output: undefined, error: undefined };
      }
      return s;
    },
    getPersistedSnapshot: (s) => s,
    restoreSnapshot: (s) => s as TimerSnapshot,
  };
}
