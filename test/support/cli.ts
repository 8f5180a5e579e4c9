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
 * Builds the package as `npm run build` does (the tsc bin, without npx, then the bundle), into `outDir` (default
 * `dist/`), and returns the path of the CLI as shipped (the bundle's `cli.js`, the package's `bin`). A test file that
 * builds into its own directory does not race another rebuilding `dist/` at the same time.
 */
export function buildCli(outDir?: string): string {
  return join(buildPackage(outDir), 'cli.js');
}

/** Builds as {@link buildCli} does and returns the bundle directory (`index.js`, `db.js`, `testing.js`, `cli.js`). */
export function buildPackage(outDir?: string): string {
  const dist = outDir ?? join(root, 'dist');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const steps = [
    [tsc, '-p', 'tsconfig.build.json', '--outDir', dist],
    [join(root, 'scripts/bundle.mjs'), '--dist', dist],
  ];
  for (const args of steps) {
    try {
      execFileSync(process.execPath, args, { cwd: root, stdio: 'pipe' });
    } catch (error) {
      const out = error as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`build failed:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`);
    }
  }
  return join(dist, 'bundle');
}

/** Runs the built CLI as a user would (`node .../bundle/cli.js ...`), never rejecting: the exit code is the result. */
export function runCli(main: string, args: readonly string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        cwd: root,
        timeout: timeoutMs,
        // No history file: a test's ETA must not depend on the runs before it (nor write to the user's cache).
        env: { ...process.env, FLOWSTATE_LOG_LEVEL: 'silent', NO_COLOR: '1', FLOWSTATE_HISTORY: 'off' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
