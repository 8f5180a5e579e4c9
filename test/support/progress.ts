import { mulberry32 } from '../../src/db/sample/data.js';
import type { AgentContext, Progress, WorkflowRun } from '../../src/index.js';

/** An agent that takes `ms(ctx)` of (fake) time and returns `value(ctx)`. */
export function sleeper(
  ms: (ctx: AgentContext) => number,
  value: (ctx: AgentContext) => unknown = () => 'ok',
) {
  return async (_input: unknown, ctx: AgentContext) => {
    await new Promise((resolve) => setTimeout(resolve, ms(ctx)));
    return value(ctx);
  };
}

/** Every emission of a run's progress, and whether the stream completed or errored. */
export function collect(run: WorkflowRun) {
  const seen = { emissions: [] as Progress[], completed: false, error: undefined as unknown };
  run.progress$.subscribe({
    next: (p) => seen.emissions.push(p),
    complete: () => {
      seen.completed = true;
    },
    error: (e: unknown) => {
      seen.error = e;
    },
  });
  return seen;
}

/** A small seeded PRNG, so "random" durations are the same on every test run (the sample data's generator). */
export const seeded = mulberry32;

/** How far each emission's ETA was from the time the run really had left (its end minus the emission time). */
export function etaErrors(emissions: readonly Progress[]) {
  const last = emissions.at(-1);
  if (last?.status !== 'done') throw new Error('the run did not end done');
  return emissions.map((p) => {
    const truth = last.at - p.at;
    const error = Math.abs(p.eta.remainingMs - truth);
    return { at: p.at, truth, eta: p.eta.remainingMs, error, relative: truth > 0 ? error / truth : 0 };
  });
}

/**
 * A writable that keeps what it gets; a TTY when asked, with the size of a real terminal (120 x 40 unless told).
 *
 * @example
 * ```ts
 * const out = sink(true, { columns: 100, rows: 30 });
 * ```
 */
export function sink(tty: boolean, { columns = 120, rows = 40 }: { columns?: number; rows?: number } = {}) {
  const chunks: string[] = [];
  return {
    chunks,
    text: () => chunks.join(''),
    write: (c: string) => chunks.push(c),
    isTTY: tty,
    columns,
    rows,
  };
}

/** The ANSI escapes log-update writes, removed to read the frames as text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is stripped
export const plain = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
