// `flowstate` run in this process (`main`, as the bin calls it), with a scratch directory for the modules and files a
// test writes: set up before the file's tests, removed after. Learned durations are not read or written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** The in-process CLI of a test file, and its scratch directory (`dir()`, once the file's tests run). */
export function inProcessCli(prefix: string) {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `flowstate-${prefix}-`));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => vi.unstubAllEnvs());
  return {
    dir: () => {
      if (!dir) throw new Error('the scratch directory is made before the tests run');
      return dir;
    },
    async flowstate(...args: string[]) {
      vi.stubEnv('FLOWSTATE_HISTORY', 'off');
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    },
  };
}
