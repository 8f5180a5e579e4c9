import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AgentContext, workflow } from '../../src/index.js';
import { sqliteScratch } from '../support/durable.js';
import { deferred } from '../support/engine.js';
import { eventually } from '../support/poll.js';

const files = sqliteScratch('flowstate-durable-flat-legacy-');

/**
 * Runs stored mid-flight by the Flowstate before the compiled machine was flat (stored format 2: the top-level nodes
 * below a `running` state, `{ compensating: ... }`): the stored rows and journal scripts/capture-flat-legacy.mjs
 * run on that build (its definitions are the ones below). Regenerate it only from a build of that version.
 */
interface StoredFixture {
  readonly workflow: string;
  readonly version: string;
  readonly status: 'running' | 'waiting';
  readonly input: unknown;
  readonly snapshot: { readonly flowstateFormat: number; readonly value: unknown };
  readonly journal: { key: string; runId: string; stepPath: string; attempt: number; output: string }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../support/flat-legacy-runs.json', import.meta.url), 'utf8'),
) as Record<string, StoredFixture>;

const child = workflow('flat-legacy-child').step('c1', { agent: 'c1' }).step('c2', { agent: 'c2' }).build();
const definitions = {
  sequence: workflow('flat-legacy-sequence')
    .step('a', { agent: 'a' })
    .step('b', { agent: 'b' })
    .step('c', { agent: 'c' })
    .build(),
  branch: workflow('flat-legacy-branch')
    .step('a', { agent: 'a' })
    .branch('triage', [
      { when: 'results.a.ok', then: (b) => b.step('x', { agent: 'x' }).step('y', { agent: 'y' }) },
      { otherwise: (b) => b.step('z', { agent: 'z' }) },
    ])
    .step('c', { agent: 'c' })
    .build(),
  loop: workflow('flat-legacy-loop')
    .loop('rounds', (b) => b.step('draft', { agent: 'draft' }), {
      until: 'results.draft.good',
      maxIterations: 5,
    })
    .step('c', { agent: 'c' })
    .build(),
  wait: workflow('flat-legacy-wait')
    .step('a', { agent: 'a' })
    .waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 })
    .step('c', { agent: 'c' })
    .build(),
  compensating: workflow('flat-legacy-compensating')
    .step('a', { agent: 'a', compensate: 'undoA' })
    .step('b', { agent: 'b', onError: 'compensate' })
    .build(),
  child: workflow('flat-legacy-parent')
    .step('a', { agent: 'a' })
    .step('sub', { workflow: child })
    .step('c', { agent: 'c' })
    .build(),
};
type Case = keyof typeof definitions;

/**
 * Stores a fixture's run and journal as the old process left them (its lease expired), then restarts on it; the
 * agent `held` (if any) settles only on `release()`, so the restored state can be looked at first.
 */
async function restartOn(id: Case, held?: string) {
  const stored = fixture[id] as StoredFixture;
  // A wait's deadline is absolute (an hour after the fixture was captured): moved to an hour from now, or the stored
  // run would have timed out by the time the test runs.
  const snapshot = structuredClone(stored.snapshot) as StoredFixture['snapshot'] & {
    context?: { waits?: Record<string, number> };
  };
  const waits = snapshot.context?.waits ?? {};
  for (const name of Object.keys(waits)) waits[name] = Date.now() + 3_600_000;
  const run = {
    id,
    workflow: stored.workflow,
    version: stored.version,
    status: stored.status,
    input: stored.input,
    snapshot: JSON.stringify(snapshot),
    createdAt: 1,
    updatedAt: 1,
  };
  const lease = { owner: 'old-node', epoch: 1 };
  await files.store.write({ claims: [{ run, owner: lease.owner, leaseUntil: 0 }], runs: [], journal: [] });
  await files.store.write({
    runs: [{ run, timers: [], lease }],
    journal: stored.journal.map((e) => ({ ...e, createdAt: 1, lease })),
  });
  const calls: string[] = [];
  const hold = deferred();
  const agent =
    (output: (ctx: AgentContext) => unknown) =>
    async (_input: unknown, ctx: AgentContext): Promise<unknown> => {
      calls.push(ctx.idempotencyKey);
      if (ctx.step.split('/').at(-1) === held) await hold.promise;
      return output(ctx);
    };
  const engine = files.restarted({
    workflows: [...Object.values(definitions), child],
    agents: {
      a: agent(() => ({ ok: true })),
      b: agent(() => 'b'),
      c: agent(() => 'c'),
      x: agent(() => 'x'),
      y: agent(() => 'y'),
      z: agent(() => 'z'),
      draft: agent(() => ({ good: true })),
      c1: agent(() => 'c1'),
      c2: agent(() => 'c2'),
      undoA: agent(() => 'undone'),
    },
  });
  const [resumed] = await engine.recover();
  if (!resumed) throw new Error(`run ${id} did not resume`);
  return { engine, resumed, calls, release: () => hold.resolve(undefined) };
}

describe('runs stored before the machine was flat', () => {
  it('are the old shape, written by the definitions here', () => {
    for (const [id, wf] of Object.entries(definitions)) {
      const stored = fixture[id] as StoredFixture;
      expect(stored.version).toBe(wf.version);
      expect(stored.snapshot.flowstateFormat).toBe(2);
    }
    expect(fixture.sequence?.snapshot.value).toEqual({ running: 'b' });
    expect(fixture.compensating?.snapshot.value).toEqual({ compensating: 'running' });
  });

  it('resume mid-sequence: the steps not journaled run, once', async () => {
    const { resumed, calls } = await restartOn('sequence');
    await expect(resumed.result).resolves.toEqual({ a: { ok: true }, b: 'b', c: 'c' });
    expect(calls).toEqual(['sequence:b:1', 'sequence:c:1']);
    expect(resumed.actor.getSnapshot().value).toBe('__done');
  });

  it('resume mid-branch: the arm goes on where it was', async () => {
    const { resumed, calls, release } = await restartOn('branch', 'y');
    await eventually(() => calls.length === 1);
    expect(resumed.actor.getSnapshot().value).toEqual({ triage: { when0: 'y' } });
    release();
    await expect(resumed.result).resolves.toEqual({ a: { ok: true }, x: 'x', y: 'y', c: 'c' });
    expect(calls).toEqual(['branch:y:1', 'branch:c:1']);
  });

  it('resume mid-loop: the round in flight runs again, with its round in its key', async () => {
    const { resumed, calls, release } = await restartOn('loop', 'draft');
    await eventually(() => calls.length === 1);
    expect(resumed.actor.getSnapshot().value).toEqual({ rounds: { round: 'draft' } });
    release();
    await expect(resumed.result).resolves.toEqual({ draft: { good: true }, c: 'c' });
    expect(calls).toEqual(['loop:draft@2:1', 'loop:c:1']);
    const ended = resumed.actor.getSnapshot().context as { iterations: Record<string, number> };
    expect(ended.iterations.rounds).toBe(2);
  });

  it('resume waiting for an event, and take it', async () => {
    const { engine, resumed, calls } = await restartOn('wait');
    expect(resumed.status).toBe('waiting');
    expect(resumed.actor.getSnapshot().value).toBe('approval');
    // Checkpointed again in format 3, flat: a build that reads up to format 2 refuses it instead of misreading it.
    await engine.flush();
    const stored = (await files.store.getRun('wait'))?.snapshot ?? '';
    expect(stored.startsWith('{"flowstateFormat":3,')).toBe(true);
    expect(JSON.parse(stored).value).toBe('approval');
    await engine.send('wait', { type: 'approved', by: 'ada' });
    await expect(resumed.result).resolves.toEqual({ a: { ok: true }, approval: { by: 'ada' }, c: 'c' });
    expect(calls).toEqual(['wait:c:1']);
  });

  it('resume compensating: the compensation in flight runs, and the run ends compensated', async () => {
    const { resumed, calls } = await restartOn('compensating');
    await expect(resumed.result).rejects.toThrow(/Step 'b' failed/);
    expect(resumed.status).toBe('compensated');
    expect(calls).toEqual(['compensating:a/compensate:1']);
    expect(resumed.actor.getSnapshot().value).toBe('__compensated');
  });

  it("resume a child workflow mid-step: the child's own old value is mapped too", async () => {
    const { resumed, calls, release } = await restartOn('child', 'c2');
    await eventually(() => calls.length === 1);
    expect(resumed.actor.getSnapshot().value).toBe('sub');
    const sub = resumed.actor.getSnapshot().children.sub as { getSnapshot(): { value: unknown } };
    expect(sub.getSnapshot().value).toBe('c2');
    release();
    await expect(resumed.result).resolves.toEqual({ a: { ok: true }, sub: { c1: 'c1', c2: 'c2' }, c: 'c' });
    expect(calls).toEqual(['child:sub/c2:1', 'child:c:1']);
  });

  it('a top-level node named `running`: the stored format says the value is old, no guess is made', async () => {
    // `{ running: 'check' }` fits the flat machine too (the loop `running` has a state `check`), but in a snapshot of
    // format 2 it can only be the old shape: the top-level step `check` in flight.
    const ambiguous = workflow('flat-legacy-ambiguous')
      .step('check', { agent: 'check' })
      .loop('running', (b) => b.step('draft', { agent: 'draft' }), {
        until: 'results.draft.good',
        maxIterations: 3,
      })
      .build();
    const calls: string[] = [];
    const hold = deferred();
    const agents = {
      check: async (_input: unknown, ctx: AgentContext) => {
        calls.push(ctx.idempotencyKey);
        await hold.promise;
        return 'checked';
      },
      draft: async (_input: unknown, ctx: AgentContext) => {
        calls.push(ctx.idempotencyKey);
        return { good: true };
      },
    };
    // What the build before flat machines stored mid-`check`: today's snapshot with the old value and no format.
    const first = files.restarted({ workflows: [ambiguous], agents, lease: { owner: 'old-build' } });
    first.start(ambiguous, { n: 1 }, { id: 'source' });
    await eventually(() => calls.length === 1);
    await first.flush();
    const text = (await files.store.getRun('source'))?.snapshot ?? '';
    expect(JSON.parse(text).value).toBe('check');
    const old = text
      .replace('{"flowstateFormat":3,', '{')
      .replace('"value":"check"', '"value":{"running":"check"}')
      .replaceAll('"source"', '"ambiguous"');
    expect(JSON.parse(old).value).toEqual({ running: 'check' });
    const run = {
      id: 'ambiguous',
      workflow: ambiguous.id,
      version: ambiguous.version,
      status: 'running' as const,
      input: { n: 1 },
      snapshot: old,
      createdAt: 1,
      updatedAt: 1,
    };
    const lease = { owner: 'old-node', epoch: 1 };
    await files.store.write({ claims: [{ run, owner: lease.owner, leaseUntil: 0 }], runs: [], journal: [] });
    await files.store.write({ runs: [{ run, timers: [], lease }], journal: [] });
    calls.length = 0;
    hold.resolve(undefined);
    const engine = files.restarted({ workflows: [ambiguous], agents });
    const resumed = await engine.resume('ambiguous');
    expect(resumed.actor.getSnapshot().value).toBe('check');
    await expect(resumed.result).resolves.toEqual({ check: 'checked', draft: { good: true } });
    // (The source run goes on too, in the first engine.)
    expect(calls.filter((key) => key.startsWith('ambiguous:'))).toEqual([
      'ambiguous:check:1',
      'ambiguous:draft:1',
    ]);
    await first.close();
  });
});
