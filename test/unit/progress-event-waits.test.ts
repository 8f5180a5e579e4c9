import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, raise, setup } from 'xstate';
import { type Progress, trackProgress } from '../../src/index.js';
import { eventWaits } from '../../src/progress/event-waits.js';
import { planOf } from '../../src/progress/plan.js';
import { testEngine } from '../support/engine.js';

// A hand-written state waits for an outside event (the run is `waiting`) unless the machine raises that event itself
// in another region of a parallel state it is in: then that region will send it, not the outside world.

const work = fromPromise(() => new Promise((resolve) => setTimeout(resolve, 1_000)));

/** `gate` waits for `built`, which the `build` region raises once its work is done: named, inline or neither. */
function machineRaising(how: 'named' | 'inline' | 'none') {
  return setup({ actors: { work }, actions: { announce: raise({ type: 'built' }) } }).createMachine({
    id: `beside-${how}`,
    initial: 'both',
    states: {
      both: {
        type: 'parallel',
        states: {
          gate: {
            initial: 'closed',
            states: { closed: { on: { built: 'open' } }, open: { type: 'final' } },
          },
          build: {
            initial: 'compile',
            states: {
              compile: {
                meta: { flowstate: { kind: 'step', expectedMs: 1_000 } },
                invoke: {
                  src: 'work',
                  onDone:
                    how === 'named'
                      ? { target: 'built', actions: 'announce' }
                      : how === 'inline'
                        ? { target: 'built', actions: raise({ type: 'built' }) }
                        : 'built',
                },
              },
              built: { type: 'final' },
            },
          },
        },
        onDone: 'done',
      },
      done: { type: 'final' },
    },
  });
}

describe('a state waiting for an event its machine raises beside it', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('is not a wait for the outside world when another region raises the event (named or inline action)', async () => {
    for (const how of ['named', 'inline'] as const) {
      const machine = machineRaising(how);
      expect(
        planOf(machine).root.children.get('both')?.children.get('gate')?.children.get('closed'),
      ).toMatchObject({
        waitsForEvent: false,
        outsideEvents: [],
      });
      const run = testEngine().start(machine, {});
      const statuses: Progress['status'][] = [];
      run.progress$.subscribe((p) => statuses.push(p.status));
      await vi.advanceTimersByTimeAsync(500);
      expect(run.status, how).toBe('running');
      expect(run.waitingSteps(), how).toEqual([]);
      await vi.advanceTimersByTimeAsync(500);
      await run.result;
      expect(run.status).toBe('done');
      expect(statuses, how).not.toContain('waiting');
    }
  });

  it('still waits when no region raises it, or when the raise is not beside it', async () => {
    const none = machineRaising('none');
    const actor = createActor(none);
    const seen: Progress[] = [];
    trackProgress(actor, { throttleMs: 0 }).subscribe((p) => seen.push(p));
    actor.start();
    expect(eventWaits(actor.getSnapshot())).toEqual(['both.gate.closed']);
    expect(seen.at(-1)?.status).toBe('waiting');
    actor.stop();

    // `prepare` raises `go` before `listen`, in sequence: by the time `listen` waits, that raise is behind it.
    const sequential = setup({}).createMachine({
      id: 'sequential',
      initial: 'prepare',
      states: {
        prepare: { entry: raise({ type: 'go' }), on: { go: 'listen' } },
        listen: { on: { go: 'done' } },
        done: { type: 'final' },
      },
    });
    expect(planOf(sequential).root.children.get('listen')).toMatchObject({
      waitsForEvent: true,
      outsideEvents: ['go'],
    });
    const run = createActor(sequential).start();
    expect(run.getSnapshot().value).toBe('listen');
    expect(eventWaits(run.getSnapshot())).toEqual(['listen']);
  });
});
