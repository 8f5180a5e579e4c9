// The parent's side of the BullMQ tests: agent worker processes (`flowstate worker` from the built CLI, running
// bullmq-agents.mjs) and the ledger their agents write.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll } from 'vitest';

/** The built package the worker processes run (`npm run build`; FLOWSTATE_DIST picks another build). */
const dist = resolve(process.env.FLOWSTATE_DIST ?? 'dist');
const cli = `${dist}/bundle/cli.js`;
const agentsModule = new URL('./bullmq-agents.mjs', import.meta.url).pathname;
/** The built `flowstate/bullmq`, for engine processes. */
export const bullmqBundle = `${dist}/bundle/bullmq.js`;
/** The built package root, for engine processes. */
export const indexBundle = `${dist}/bundle/index.js`;

/** A `flowstate worker` process. */
export interface AgentWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the worker said it consumes its queue. */
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  output(): string;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `flowstate worker --redis <url> --queue <queue> --agents bullmq-agents.mjs`, its ledger in `ledger`. */
export function spawnAgentWorker(options: {
  readonly url: string;
  readonly queue: string;
  readonly ledger: string;
  readonly concurrency?: number;
  readonly lockMs?: number;
  /** `--agents`: `template:<id>` or a module. @default bullmq-agents.mjs */
  readonly agents?: string;
}): AgentWorker {
  const agents = options.agents ?? agentsModule;
  const args = [cli, 'worker', '--redis', options.url, '--queue', options.queue, '--agents', agents];
  args.push('--concurrency', String(options.concurrency ?? 4));
  if (options.lockMs) args.push('--lock', String(options.lockMs));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOWSTATE_LEDGER: options.ledger },
  });
  children.add(child);
  let text = '';
  const ready = new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker not ready in 60 s:\n${text}`)), 60_000);
    const read = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('flowstate worker: queue')) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
  });
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      children.delete(child);
      done(code);
    }),
  );
  return { child, pid: child.pid as number, ready, exited, output: () => text };
}

/** One line of the agents' ledger. */
export interface LedgerEntry {
  readonly event: 'call' | 'done' | 'abort';
  readonly key: string;
  readonly pid: number;
  readonly code?: string;
}

/** The ledger's lines so far. */
export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LedgerEntry);
}

/** Resolves once `test` holds for the ledger (polled every 20 ms), or rejects after `timeoutMs`. */
export async function ledgerUntil(
  path: string,
  test: (entries: LedgerEntry[]) => boolean,
  timeoutMs = 15_000,
): Promise<LedgerEntry[]> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const entries = readLedger(path);
    if (test(entries)) return entries;
    if (Date.now() > deadline)
      throw new Error(`ledger condition not met in ${timeoutMs} ms: ${entries.length} lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
