import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/index.js';

// Runs on the built package (`npm run build`), as the crash test does: the worker is a real separate process.
const worker = new URL('../support/map-crash-worker.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-map-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a map item journaled but not checkpointed when the process is killed (SIGKILL, SQLite)', () => {
  it('is not run again after recovery, and its result is in the output in item order', async () => {
    const db = join(dir, 'map-crash.db');
    const ledger = join(dir, 'map-crash.ledger');
    writeFileSync(ledger, '');
    const first = spawnSync(process.execPath, [worker, 'first', db, ledger], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(first.signal).toBe('SIGKILL');
    // The kill came between item 2's journal write and a checkpoint recording it: only the journal knows it.
    const store = sqliteStore(db);
    const map = JSON.parse((await store.getRun('map-crash'))?.snapshot ?? '{}').children.m.snapshot;
    // Ended items leave nothing in the snapshot (their results are journaled); item 2 is still running there.
    expect(map.results).toBeUndefined();
    expect(map.settled).toBe(2);
    expect(Object.keys(map.children)).toContain('m[2]');
    expect(await store.getJournal('map-crash:m[2]:1')).toMatchObject({ stepPath: 'm[2]' });
    await store.close();
    const second = spawnSync(process.execPath, [worker, 'second', db, ledger], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(second.stderr).toBe('');
    const line = second.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(JSON.parse(line?.slice('RESULT '.length) ?? 'null')).toEqual({
      m: ['out-0', 'out-1', 'out-2', 'out-3', 'out-4', 'out-5'],
    });
    const calls = readFileSync(ledger, 'utf8').trim().split('\n');
    expect(calls.filter((c) => c.startsWith('first')).sort()).toEqual([
      'first 0',
      'first 1',
      'first 2',
      'first 3',
    ]);
    expect(calls.filter((c) => c.startsWith('second')).sort()).toEqual(['second 3', 'second 4', 'second 5']);
  }, 60_000);
});
