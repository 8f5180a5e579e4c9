import { describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, raise, sendParent, sendTo, setup } from 'xstate';
import { agentActor } from '../../src/index.js';
import { SCHEDULED_FIELD } from '../../src/runtime/scheduled.js';
import { fakeTimersEachTest, never, node, pass, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';
import { killable } from '../support/named-signals.js';

// A hand-written machine's delayed events (`after`, a delayed `sendTo`) survive a crash: XState keeps them in memory
// only (#5331), so a run restored after its engine died waited in `review` forever and took an approval sent long
// after its 4 s deadline (found by a new user's trial). Each checkpoint now stores them with their deadlines beside
// the snapshot; the restored run schedules them again for what is left.

const files = sqliteScratch('flowstate-handwritten-delays-');
fakeTimersEachTest();

/** answer (an agent) -> review, which expires after 4 s unless approved. */
function reviewed() {
  return setup({
    types: {} as { context: { answer?: string; outcome?: string } },
    actors: { answer: agentActor<unknown, string>() },
  }).createMachine({
    id: 'reviewed',
    context: {},
    initial: 'answer',
    states: {
      answer: {
        invoke: {
          src: 'answer',
          onDone: { target: 'review', actions: assign({ answer: ({ event }) => event.output }) },
        },
      },
      review: { after: { 4000: 'expired' }, on: { approve: 'approved' } },
      approved: { type: 'final', entry: assign({ outcome: 'approved' }) },
      expired: { type: 'final', entry: assign({ outcome: 'expired' }) },
    },
    output: ({ context }) => ({ answer: context.answer, outcome: context.outcome }),
  });
}

describe("a hand-written machine's delayed events across a crash", () => {
  it('an `after` still pending fires at its deadline on the engine that restored the run', async () => {
    const machine = reviewed();
    const { store, state } = killable(files.store);
    const first = testEngine({ lease: node, store, agents: { answer: () => 'A' } });
    first.start(machine, {}, { id: 'd1' });
    await settle(first);
    await pass(1_000, [first]);
    const stored = JSON.parse((await files.store.getRun('d1'))?.snapshot ?? '{}') as Record<string, unknown>;
    expect(stored.value).toBe('review');
    expect(stored[SCHEDULED_FIELD]).toEqual([
      expect.objectContaining({ source: [], target: [], event: { type: expect.stringMatching(/after/) } }),
    ]);

    // The process dies: its store calls never answer again (no write, no lease renewal, no release). A restart
    // 1 s later restores the run with 2 s of its 4 s left.
    state.dead = true;
    await pass(1_000);
    const second = files.restarted({ agents: { answer: never }, workflows: [machine] });
    const [run] = await second.recover();
    await settle(second);
    expect(run?.actor.getSnapshot().value).toBe('review');
    await pass(1_500, [second]);
    expect(run?.actor.getSnapshot().value).toBe('review');
    await pass(750, [second]);
    await expect(run?.result).resolves.toEqual({ answer: 'A', outcome: 'expired' });
    // A late approval finds the run ended.
    await expect(second.send('d1', { type: 'approve' })).rejects.toThrow(/ended/);
    await second.close();
  });

  it('a deadline that passed while no engine held the run fires as soon as it is restored', async () => {
    const machine = reviewed();
    const { store, state } = killable(files.store);
    const first = testEngine({ lease: node, store, agents: { answer: () => 'A' } });
    first.start(machine, {}, { id: 'd2' });
    await settle(first);
    // The process dies (its store calls never answer again); no engine holds the run for 10 s.
    state.dead = true;
    await pass(10_000);
    const second = files.restarted({ agents: { answer: never }, workflows: [machine] });
    const [run] = await second.recover();
    await pass(250, [second]);
    await expect(run?.result).resolves.toEqual({ answer: 'A', outcome: 'expired' });
    await second.close();
  });

  it('leaving the state cancels the restored timer: an approval in time wins, nothing fires after', async () => {
    const machine = reviewed();
    const { store, state } = killable(files.store);
    const first = testEngine({ lease: node, store, agents: { answer: () => 'A' } });
    first.start(machine, {}, { id: 'd3' });
    await settle(first);
    // The process dies: its store calls never answer again (no write, no lease renewal, no release).
    state.dead = true;
    const second = files.restarted({ agents: { answer: never }, workflows: [machine] });
    const [run] = await second.recover();
    await settle(second);
    await expect(second.send('d3', { type: 'approve' })).resolves.toBe(true);
    await expect(run?.result).resolves.toEqual({ answer: 'A', outcome: 'approved' });
    await pass(5_000, [second]);
    expect(await second.get('d3')).toMatchObject({ status: 'done', output: { outcome: 'approved' } });
    await second.close();
  });

  it("a child machine's delayed send to its parent is sent again from the restored child", async () => {
    const child = setup({}).createMachine({
      id: 'ticker',
      initial: 'counting',
      states: {
        counting: {
          entry: sendParent({ type: 'tick' }, { delay: 3_000, id: 'tick' }),
        },
      },
    });
    const machine = setup({ actors: { ticker: child } }).createMachine({
      id: 'parent',
      initial: 'waiting',
      states: {
        waiting: { invoke: { src: 'ticker', id: 'ticker' }, on: { tick: 'ticked' } },
        ticked: { type: 'final' },
      },
      output: () => 'ticked',
    });
    const { store, state } = killable(files.store);
    const first = testEngine({ lease: node, store });
    first.start(machine, {}, { id: 'd4' });
    await settle(first);
    await pass(1_000, [first]);
    // The process dies: its store calls never answer again (no write, no lease renewal, no release).
    state.dead = true;
    const second = files.restarted({ workflows: [machine] });
    const [run] = await second.recover();
    await settle(second);
    await pass(1_500, [second]);
    expect(run?.actor.getSnapshot().status).toBe('active');
    await pass(750, [second]);
    await expect(run?.result).resolves.toBe('ticked');
    await second.close();
  });

  it('a delayed event JSON cannot give back (a BigInt) is left out of the checkpoint: the run goes on and ends', async () => {
    const machine = setup({ types: {} as { context: { n?: string } } }).createMachine({
      id: 'bigint',
      context: {},
      initial: 'a',
      states: {
        a: {
          entry: raise({ type: 'tick', n: 10n } as never, { delay: 1_000 }),
          on: {
            tick: {
              target: 'b',
              actions: assign({ n: ({ event }) => String((event as unknown as { n: bigint }).n) }),
            },
          },
        },
        b: { type: 'final' },
      },
      output: ({ context }) => context.n,
    });
    const engine = testEngine({ lease: node, store: files.store });
    const run = engine.start(machine, {}, { id: 'big' });
    await settle(engine);
    await pass(1_500, [engine]);
    await expect(run.result).resolves.toBe('10');
    expect(await engine.get('big')).toMatchObject({ status: 'done', output: '10' });
    await engine.close();
  });

  it('a delayed event carrying an actor ref is left out: restored, the run keeps waiting, it does not fail', async () => {
    const echo = setup({}).createMachine({
      id: 'echo',
      initial: 'idle',
      states: {
        idle: {
          on: {
            ping: {
              actions: sendTo(({ event }) => (event as unknown as { from: AnyActorRef }).from, {
                type: 'pong',
              }),
            },
          },
        },
      },
    });
    const machine = setup({ actors: { echo } }).createMachine({
      id: 'pinger',
      initial: 'waiting',
      states: {
        waiting: {
          invoke: { src: 'echo', id: 'echo' },
          entry: sendTo('echo', ({ self }) => ({ type: 'ping', from: self }), { delay: 3_000, id: 'ping' }),
          on: { pong: 'done', giveUp: 'done' },
        },
        done: { type: 'final' },
      },
      output: () => 'ended',
    });
    const { store, state } = killable(files.store);
    const first = testEngine({ lease: node, store });
    first.start(machine, {}, { id: 'p1' });
    await settle(first);
    await pass(1_000, [first]);
    const stored = JSON.parse((await files.store.getRun('p1'))?.snapshot ?? '{}') as Record<string, unknown>;
    expect(stored[SCHEDULED_FIELD]).toBeUndefined();
    state.dead = true;
    const second = files.restarted({ workflows: [machine] });
    const [run] = await second.recover();
    await pass(3_000, [second]);
    expect(run?.actor.getSnapshot().status).toBe('active');
    await expect(second.send('p1', { type: 'giveUp' })).resolves.toBe(true);
    await expect(run?.result).resolves.toBe('ended');
    await second.close();
  });
});

describe('a hand-written machine whose state cannot be stored as JSON', () => {
  it('stops its copy with a clear error, once, and nothing escapes as an unhandled rejection', async () => {
    const machine = setup({ types: {} as { context: { n?: bigint } } }).createMachine({
      id: 'unwritable',
      context: {},
      initial: 'a',
      states: { a: { entry: assign({ n: 10n }), on: { go: 'b' } }, b: { type: 'final' } },
    });
    const engine = testEngine({ lease: node, store: files.store });
    const run = engine.start(machine, {}, { id: 'u1' });
    const settled = run.result.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await settle(engine);
    await pass(250, [engine]);
    await expect(settled).resolves.toMatch(/cannot be stored as JSON/);
    await engine.close();
  });
});
