/**
 * `--db <PGlite directory>` (run, runs resume, worker): found by a new user, a typo in the directory opened a new,
 * empty database, on which the templates scored 100/100. A directory without a database is refused unless the
 * user asks to create it (`--seed`, which fills it with the sample data).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTarget } from '../../src/cli/commands/execute.js';
import { UsageError } from '../../src/cli/paths-command.js';

describe('openTarget and a PGlite directory', () => {
  it('refuses a directory that does not exist, naming it and --seed, before PGlite starts', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flowstate-db-')), 'typo-dir');
    let started = false;
    const opening = openTarget(dir, { before: () => (started = true) });
    await expect(opening).rejects.toBeInstanceOf(UsageError);
    await expect(opening).rejects.toThrow(
      `--db: no PGlite database at ${dir} (a typo? --seed creates one there`,
    );
    expect(started).toBe(false);
  });

  it('refuses an existing directory that holds no database (PGlite would initialize it empty)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-db-'));
    await expect(openTarget(`file://${dir}`)).rejects.toThrow(`--db: ${dir} holds no PGlite database`);
  });

  it('refuses a file (a SQLite store given as --db), even with --seed: PGlite failed on it with a bare errno', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'flowstate-db-')), 'store.db');
    writeFileSync(file, '');
    await expect(openTarget(file, { create: true })).rejects.toThrow(
      `--db: ${file} is a file, not a PGlite database directory`,
    );
  });

  it('still says when the directory above it is missing, even with create', async () => {
    await expect(openTarget('/nonexistent/dir/pg', { create: true })).rejects.toThrow(
      '--db: no directory /nonexistent/dir to keep the database in',
    );
  });
});
