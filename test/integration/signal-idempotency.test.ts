// A signal its caller names (`signalId`) is applied once, whatever the caller retries after an ambiguous failure: its
// answer lost on the way back, a timeout, the caller or the run's engine dying before or after the commit. Before
// the option, a re-send after a lost answer applied the signal twice (two waitFor steps taken by one event).
import { describe, expect, it } from 'vitest';
import type { WorkflowStore } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import {
  connectionError,
  progressOf,
  sleep,
  stores,
  twice,
  waitFor,
  waitingOnKillable,
} from '../support/named-signals.js';

describe.each(stores)('a named signal on %s', (_name, open) => {
  it('sent twice to a run here, is applied once and answered twice alike', async () => {
    const shared = open();
    const engine = testEngine({ agents: { after: () => 'ok' }, workflows: [twice], store: shared });
    engine.start(twice, {}, { id: 'x' });
    await engine.flush();
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    await expect(engine.send('x', { type: 'go' }, { signalId: 's1' })).resolves.toBe(true);
    await expect(engine.send('x', { type: 'go' }, { signalId: 's1' })).resolves.toBe(true);
    await engine.flush();
    expect(await progressOf(shared)).toBe('second');
    // Another name is another signal.
    await expect(engine.send('x', { type: 'go' }, { signalId: 's2' })).resolves.toBe(true);
    await waitFor(async () => (await progressOf(shared)) === 'done');
    expect(await progressOf(shared)).toBe('done');
    // Once the run ended, a re-send still gets the first answer (not "already ended").
    await expect(engine.send('x', { type: 'go' }, { signalId: 's1' })).resolves.toBe(true);
    await engine.close();
  });

  it('a name reused for another signal is refused, and nothing is applied', async () => {
    const shared = open();
    const engine = testEngine({ agents: { after: () => 'ok' }, workflows: [twice], store: shared });
    engine.start(twice, {}, { id: 'x' });
    await engine.flush();
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    await engine.send('x', { type: 'go' }, { signalId: 'same' });
    await expect(engine.cancel('x', 'oops', { signalId: 'same' })).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
      message: expect.stringContaining('signalId already names another signal'),
    });
    await expect(engine.send('x', { type: 'go' }, { signalId: '' })).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
    });
    await engine.flush();
    expect(await progressOf(shared)).toBe('second');
    expect((await shared.getRun('x'))?.status).toBe('waiting');
    await engine.close();
  });

  it('a refusal is kept as the answer: a re-send is refused alike', async () => {
    const shared = open();
    const engine = testEngine({ agents: { after: () => 'ok' }, workflows: [twice], store: shared });
    engine.start(twice, {}, { id: 'x' });
    await engine.flush();
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    const decide = () => engine.resolveEscalation('x', 'nowhere', { action: 'retry' }, { signalId: 'd1' });
    await expect(decide()).rejects.toMatchObject({ code: 'CONFIGURATION_INVALID' });
    await expect(decide()).rejects.toMatchObject({
      code: 'CONFIGURATION_INVALID',
      message: expect.stringContaining(
        "Step 'nowhere' is not waiting for a decision (no such step is running; steps waiting for a decision: none)",
      ),
    });
    await engine.close();
  });

  it('sent through another engine whose post answer was lost, is applied once on a re-send', async () => {
    const shared = open();
    let losePost = true;
    const lossy: WorkflowStore = Object.assign(Object.create(shared) as WorkflowStore, {
      async post(message: Parameters<WorkflowStore['post']>[0]) {
        await shared.post(message);
        if (losePost) {
          losePost = false;
          throw connectionError(); // committed; the answer is lost on the way back
        }
      },
    });
    const options = { agents: { after: () => 'ok' }, workflows: [twice], inbox: { pollMs: 20 } };
    const owner = testEngine({ ...options, store: shared, lease: { owner: 'owner' } });
    const caller = testEngine({ ...options, store: lossy, lease: { owner: 'caller', adopt: false } });
    owner.start(twice, {}, { id: 'x' });
    await owner.flush();
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    await expect(caller.send('x', { type: 'go' }, { signalId: 'p1' })).rejects.toThrow(
      /Connection terminated/,
    );
    // The caller does not know whether it went through: it sends again, under the same name.
    await expect(caller.send('x', { type: 'go' }, { signalId: 'p1' })).resolves.toBe(true);
    await expect(caller.send('x', { type: 'go' }, { signalId: 'p1' })).resolves.toBe(true);
    await owner.flush();
    expect(await progressOf(shared)).toBe('second');
    await owner.close();
    await caller.close();
  });

  it('applied and committed by an engine killed before it answered: a re-send elsewhere gets the answer', async () => {
    const { shared, state, a, options } = await waitingOnKillable(open());
    await expect(a.send('x', { type: 'go' }, { signalId: 'k1' })).resolves.toBe(true);
    state.dead = true; // killed right after the commit: its caller (say) never read the answer
    await sleep(400); // the lease ends
    const b = testEngine({ ...options, store: shared, lease: { owner: 'b', ttlMs: 300 } });
    await expect(b.send('x', { type: 'go' }, { signalId: 'k1' })).resolves.toBe(true);
    await b.flush();
    expect(await progressOf(shared)).toBe('second');
    await b.close();
  });

  it('applied by an engine killed before its commit: a re-send elsewhere applies it once', async () => {
    const { shared, state, a, options } = await waitingOnKillable(open());
    state.holdWrites = true;
    // Applied in a's memory; its commit never comes: it times out, and a is killed.
    await expect(a.send('x', { type: 'go' }, { signalId: 'k2', timeoutMs: 100 })).rejects.toMatchObject({
      code: 'SIGNAL_TIMEOUT',
    });
    state.dead = true;
    await sleep(400);
    const b = testEngine({ ...options, store: shared, lease: { owner: 'b', ttlMs: 300 } });
    // Sent again through b: the queued signal is found, b takes the run (as it was before it) and applies it once.
    const again = b.send('x', { type: 'go' }, { signalId: 'k2' });
    await b.recover();
    await expect(again).resolves.toBe(true);
    await b.flush();
    expect(await progressOf(shared)).toBe('second');
    await expect(b.send('x', { type: 'go' }, { signalId: 'k2' })).resolves.toBe(true);
    await b.flush();
    expect(await progressOf(shared)).toBe('second');
    await b.close();
  });
});

describe('a named signal without a store', () => {
  it('is applied as any signal (nothing is ambiguous within one process)', async () => {
    const engine = testEngine({ agents: { after: () => 'ok' }, workflows: [twice] });
    const run = engine.start(twice, {});
    await expect(engine.send(run.id, { type: 'go' }, { signalId: 'n1' })).resolves.toBe(true);
    await expect(engine.send(run.id, { type: 'go' }, { signalId: 'n2' })).resolves.toBe(true);
    await expect(run.result).resolves.toMatchObject({ after: 'ok' });
    await engine.close();
  });
});
