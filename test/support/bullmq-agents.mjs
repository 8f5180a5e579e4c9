// The agents of the BullMQ tests and the distributed chaos test, run by `flowstate worker --agents <this file>`.
// Each call appends one JSON line to the ledger file named by FLOWSTATE_LEDGER ({ event, key, pid, t, ... }), so the
// parent can count calls per idempotency key and see aborts (with their reason's code).
import { appendFileSync } from 'node:fs';
import { sleep as wait } from './abortable.mjs';

const ledger = process.env.FLOWSTATE_LEDGER;
const note = (event, ctx, extra = {}) => {
  if (ledger)
    appendFileSync(
      ledger,
      `${JSON.stringify({ event, key: ctx.idempotencyKey, pid: process.pid, t: Date.now(), ...extra })}\n`,
    );
};

const io = async (input, ctx) => {
  note('call', ctx);
  try {
    await wait(input?.ms ?? 50, ctx.signal);
  } catch (error) {
    note('abort', ctx, { code: error?.code ?? error?.name });
    throw error;
  }
  note('done', ctx);
  return {
    n: input?.n ?? null,
    step: ctx.step,
    attempt: ctx.attempt,
    key: ctx.idempotencyKey,
    pid: process.pid,
  };
};

export const agents = {
  io,
  /** I/O of `ms` (default 50) that answers `{ n: n + 1 }`: the distributed chaos test's step. */
  inc: async (input, ctx) => {
    const out = await io(input, ctx);
    return { n: out.n + 1 };
  },
  /** I/O of `ms` (default 50) that answers with its input's `n` and where it ran. */
  io2: io,
  /** Fails (retryable, code EFLAKY) until attempt `okAt`; `fatal: true` fails once, not retryable. */
  flaky: async (input, ctx) => {
    note('call', ctx);
    if (input?.fatal) throw Object.assign(new Error('fatal'), { retryable: false, code: 'EFATAL' });
    if (ctx.attempt < (input?.okAt ?? 1))
      throw Object.assign(new Error(`flaky ${ctx.attempt}`), { code: 'EFLAKY' });
    return { attempt: ctx.attempt };
  },
  /** Runs until its signal fires. */
  hang: async (_input, ctx) => {
    note('call', ctx);
    await wait(3_600_000, ctx.signal).catch((error) => {
      note('abort', ctx, { code: error?.code ?? error?.name });
      throw error;
    });
  },
};
