import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoredFormatError, type WorkflowStore, workflow } from '../../src/index.js';
import { FORMAT_FIELD, STORED_FORMAT } from '../../src/persistence/stored-format.js';
import { never, node, pass, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

/**
 * A run checkpointed by a newer Flowstate (its snapshot's format past this build's) on the real SQLite store: every
 * way this build restores runs refuses it with a typed error and leaves it exactly as stored, for a newer replica.
 */
const files = sqliteScratch('flowstate-format-');

const steps = workflow('format-steps').step('a').step('b', { input: 'results.a' }).build();
const REFUSED = 'run stored by a newer Flowstate left for an engine that reads it';
const opening = (format: number | string) => `{"${FORMAT_FIELD}":${format},`;

/** The run's row and journal as SQLite holds them (another connection), as text to compare. */
function rowOf(id: string, without: readonly string[] = []): string {
  const db = new Database(files.path, { readonly: true });
  const run = db.prepare('SELECT * FROM flowstate_runs WHERE id = ?').get(id) as Record<string, unknown>;
  const journal = db.prepare('SELECT * FROM flowstate_journal WHERE run_id = ? ORDER BY key').all(id);
  db.close();
  for (const column of without) delete run[column];
  return JSON.stringify({ run, journal });
}

/** Writes a run's snapshot text straight into SQLite, as a newer build (or a hand) would have stored it. */
function setSnapshot(id: string, snapshot: string): void {
  const db = new Database(files.path);
  db.prepare('UPDATE flowstate_runs SET snapshot = ? WHERE id = ?').run(snapshot, id);
  db.close();
}

function snapshotOf(id: string): string {
  const db = new Database(files.path, { readonly: true });
  const { snapshot } = db.prepare('SELECT snapshot FROM flowstate_runs WHERE id = ?').get(id) as {
    snapshot: string;
  };
  db.close();
  return snapshot;
}

/** A logger whose warnings land in `lines`. */
function warnings() {
  const lines: { msg: string; workflowId?: string }[] = [];
  return {
    lines,
    logger: pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  };
}

/** Runs of `steps` stored by a first engine: `a` journaled, `b` in flight; the engine closed (leases released). */
async function storedRuns(...ids: string[]): Promise<void> {
  const first = testEngine({
    lease: node,
    store: files.store,
    agents: { a: () => 'A', b: never },
    workflows: [steps],
  });
  for (const id of ids) first.start(steps, {}, { id });
  await settle(first);
  await first.close();
}

/** The agents of the engine that restores: `a` must not run again (journaled), `b` records its keys. */
function restoring() {
  const a = vi.fn(() => 'again');
  const keys: string[] = [];
  const b = (input: string, ctx: { idempotencyKey: string }) => {
    keys.push(ctx.idempotencyKey);
    return `${input}+B`;
  };
  return { a, keys, agents: { a, b } };
}

describe('a run stored in a newer format', () => {
  it('writes the format first in every snapshot', async () => {
    await storedRuns('r0');
    expect(snapshotOf('r0').startsWith(opening(STORED_FORMAT))).toBe(true);
  });

  it('is refused by resume and recover, left as stored, and resumes once it is readable again', async () => {
    await storedRuns('newer', 'other');
    const original = snapshotOf('newer');
    setSnapshot('newer', original.replace(opening(STORED_FORMAT), opening(STORED_FORMAT + 1)));
    const before = rowOf('newer');
    const { lines, logger } = warnings();
    const { a, keys, agents } = restoring();
    const engine = files.restarted({ agents, workflows: [steps], logger });

    const refusal = await engine.resume('newer').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoredFormatError);
    expect(refusal).toMatchObject({
      code: 'STORED_FORMAT_UNSUPPORTED',
      workflowId: 'newer',
      storedFormat: STORED_FORMAT + 1,
      readableFormat: STORED_FORMAT,
    });
    const { message } = refusal as StoredFormatError;
    expect(message).toContain("'newer'");
    expect(message).toContain(`format ${STORED_FORMAT + 1}`);
    expect(message).toContain(`up to ${STORED_FORMAT}`);
    expect(message).toContain('upgrade Flowstate');
    expect(rowOf('newer')).toBe(before);

    const recovered = await engine.recover();
    expect(recovered.map((r) => r.id)).toEqual(['other']);
    await expect(recovered[0]?.result).resolves.toEqual({ a: 'A', b: 'A+B' });
    expect(rowOf('newer')).toBe(before);
    expect(lines.filter((l) => l.msg === REFUSED)).toEqual([
      expect.objectContaining({ workflowId: 'newer' }),
    ]);

    setSnapshot('newer', original);
    const run = await engine.resume('newer');
    await expect(run.result).resolves.toEqual({ a: 'A', b: 'A+B' });
    expect(a).not.toHaveBeenCalled();
    expect(keys).toEqual(['other:b:1', 'newer:b:1']);
    await engine.close();
  });

  it('of a changed definition is refused before its migration hook sees it, and is not marked failed without one', async () => {
    await storedRuns('moved', 'unhooked');
    for (const id of ['moved', 'unhooked'])
      setSnapshot(id, snapshotOf(id).replace(opening(STORED_FORMAT), opening(STORED_FORMAT + 1)));
    const before = [rowOf('moved'), rowOf('unhooked')];
    const changed = workflow('format-steps')
      .step('a')
      .step('b', { input: 'results.a' })
      .step('c', { agent: 'b' })
      .build();
    const migrate = vi.fn(() => ({ action: 'restart' as const }));
    const hooked = files.restarted({
      agents: restoring().agents,
      workflows: [changed],
      migrate: { 'format-steps': migrate },
    });
    await expect(hooked.resume('moved')).rejects.toBeInstanceOf(StoredFormatError);
    expect(migrate).not.toHaveBeenCalled();
    await hooked.close();
    const bare = files.restarted({ agents: restoring().agents, workflows: [changed] });
    await expect(bare.resume('unhooked')).rejects.toBeInstanceOf(StoredFormatError);
    expect([rowOf('moved'), rowOf('unhooked')]).toEqual(before);
    await bare.close();
  });

  it('is refused when the field is found past the opening (the lease taken is released for another engine)', async () => {
    await storedRuns('edited');
    const original = snapshotOf('edited');
    const rest = original.slice(opening(STORED_FORMAT).length);
    setSnapshot('edited', `{${rest.slice(0, -1)},"${FORMAT_FIELD}":${STORED_FORMAT + 5}}`);
    const lease = ['owner', 'epoch', 'lease_until'];
    const before = rowOf('edited', lease);
    const engine = files.restarted({ agents: restoring().agents, workflows: [steps] });
    await expect(engine.resume('edited')).rejects.toMatchObject({
      code: 'STORED_FORMAT_UNSUPPORTED',
      storedFormat: STORED_FORMAT + 5,
    });
    expect(rowOf('edited', lease)).toBe(before);
    const now = Date.now();
    await expect(
      files.restartedStore().acquire('edited', 'newer-build', now, now + 1_000),
    ).resolves.toBeTruthy();
    await engine.close();
  });

  it('refuses a malformed format as a corrupt run, and leaves the run as stored', async () => {
    await storedRuns('odd');
    const rest = snapshotOf('odd').slice(opening(STORED_FORMAT).length);
    const engine = files.restarted({ agents: restoring().agents, workflows: [steps] });
    for (const format of ['"2"', '-1', '0', '1.5', 'null', 'true', '1e999', '{}']) {
      setSnapshot('odd', opening(format) + rest);
      const before = rowOf('odd', ['epoch', 'lease_until']);
      await expect(engine.resume('odd'), format).rejects.toMatchObject({ code: 'RUN_CORRUPTED' });
      expect(rowOf('odd', ['epoch', 'lease_until']), format).toBe(before);
    }
    await engine.close();
  });

  it('still restores a snapshot stored before formats were numbered (format 1), and stores it numbered after', async () => {
    await storedRuns('legacy');
    const legacy = `{${snapshotOf('legacy').slice(opening(STORED_FORMAT).length)}`;
    expect(legacy).not.toContain(FORMAT_FIELD);
    setSnapshot('legacy', legacy);
    const { a, keys, agents } = restoring();
    const engine = files.restarted({ agents, workflows: [steps] });
    const run = await engine.resume('legacy');
    await expect(run.result).resolves.toEqual({ a: 'A', b: 'A+B' });
    expect(a).not.toHaveBeenCalled();
    expect(keys).toEqual(['legacy:b:1']);
    await settle(engine);
    expect(snapshotOf('legacy').startsWith(opening(STORED_FORMAT))).toBe(true);
    await engine.close();
  });
});

describe('an engine that cannot read a run does not spin on it', () => {
  beforeEach(() =>
    vi.useFakeTimers({
      now: 0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    }),
  );
  afterEach(() => vi.useRealTimers());

  /** The store with the reads and lease takes of one run counted. */
  function counted(id: string) {
    const inner = files.restartedStore();
    const calls = { reads: 0, acquires: 0 };
    const store: WorkflowStore = Object.create(inner) as WorkflowStore;
    store.getRun = (runId) => {
      if (runId === id) calls.reads++;
      return inner.getRun(runId);
    };
    store.acquire = (runId, ...rest) => {
      if (runId === id) calls.acquires++;
      return inner.acquire(runId, ...rest);
    };
    return { store, calls };
  }

  it('adoption tries a refused run once, warns once, and leaves it as stored', async () => {
    await storedRuns('busy');
    setSnapshot('busy', snapshotOf('busy').replace(opening(STORED_FORMAT), opening(STORED_FORMAT + 1)));
    const before = rowOf('busy');
    const { store, calls } = counted('busy');
    const { lines, logger } = warnings();
    const engine = testEngine({
      store,
      lease: { owner: 'older', ttlMs: 1_000 },
      agents: restoring().agents,
      workflows: [steps],
      logger,
    });
    // A minute of adoption rounds, two a second.
    await pass(60_000, [engine]);
    expect(calls).toEqual({ reads: 1, acquires: 0 });
    expect(rowOf('busy')).toBe(before);
    expect(lines.filter((l) => l.msg === REFUSED)).toHaveLength(1);
    await engine.close();
  });

  it('a passivated run stored newer is not woken: tried once when due, its row unchanged', async () => {
    const waiting = workflow('format-wait')
      .step('a')
      .waitFor('go', { event: 'go', timeoutMs: 60_000 })
      .step('b')
      .build();
    const { store, calls } = counted('sleeper');
    const { lines, logger } = warnings();
    const engine = testEngine({
      store,
      lease: { owner: 'older', ttlMs: 15_000 },
      inbox: { pollMs: 100 },
      passivate: { afterMs: 5_000 },
      agents: { a: () => 'A', b: () => 'B' },
      workflows: [waiting],
      logger,
    });
    engine.start(waiting, {}, { id: 'sleeper' });
    await pass(6_000, [engine]);
    expect(engine.active.size).toBe(0);
    setSnapshot('sleeper', snapshotOf('sleeper').replace(opening(STORED_FORMAT), opening(STORED_FORMAT + 1)));
    const before = rowOf('sleeper');
    const { reads, acquires } = calls;
    // Due at 60 s; then a minute more of the scheduler's reads.
    await pass(120_000, [engine]);
    expect(calls.reads - reads).toBe(1);
    expect(calls.acquires - acquires).toBe(0);
    expect(rowOf('sleeper')).toBe(before);
    expect(lines.filter((l) => l.msg === REFUSED)).toHaveLength(1);
    await engine.close();
  });
});
