import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** What a CLI run printed, and its exit code. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Builds the package as `npm run build` does (the tsc bin, without npx), into `outDir` (default `dist/`), and
 * returns the path of the CLI's entry point there. A test file that builds into its own directory does not race
 * another rebuilding `dist/` at the same time.
 */
export function buildCli(outDir?: string): string {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', ...(outDir ? ['--outDir', outDir] : [])];
  try {
    execFileSync(process.execPath, args, { cwd: root, stdio: 'pipe' });
  } catch (error) {
    throw new Error(`build failed:\n${(error as { stdout?: Buffer }).stdout?.toString() ?? ''}`);
  }
  return join(outDir ?? join(root, 'dist'), 'src/cli/main.js');
}

/** Runs the built CLI as a user would (`node .../src/cli/main.js ...`), never rejecting: the exit code is the result. */
export function runCli(main: string, args: readonly string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        cwd: root,
        timeout: timeoutMs,
        env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'silent', NO_COLOR: '1' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
