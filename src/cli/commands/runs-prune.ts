/**
 * `flowstate runs prune --ended-before <age|date> [--limit n] [--dry-run] [--json] --store <url>`: deletes the runs
 * that ended before a time, with their journal, timers and inbox rows, in short batches (docs/operators.md).
 * Unfinished runs, and ended runs whose lease is still live, are never deleted.
 */
import { pruneRuns } from '../../persistence/prune.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { openStore, storeUrl } from '../store-url.js';
import { positiveInt, type RunsInvocation, text } from './runs-common.js';

/** Milliseconds per unit of an age. */
const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const FORMS =
  'an age such as 30d, 12h, 90m, 45s or 2w, or an ISO date such as 2026-01-31 or 2026-01-31T12:00:00Z';

/**
 * The cut `--ended-before` names, in epoch ms: `now` less an age, or a date (not in the future: pruning every run
 * that ended is `0s`). Throws a {@link UsageError} for a missing, negative, unreadable or future value.
 *
 * @example
 * ```ts
 * endedBefore('30d', Date.now()); // 30 days ago
 * endedBefore('2026-01-31', Date.now()); // midnight UTC that day
 * ```
 */
export function endedBefore(value: string | undefined, now: number): number {
  if (value === undefined)
    throw new UsageError(`missing --ended-before <age|date> for 'runs prune' (${FORMS})`);
  const given = value.trim();
  const age = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(given);
  if (age) {
    const ms = Number(age[1]) * (UNITS[age[2] as string] ?? Number.NaN);
    if (!Number.isSafeInteger(Math.round(ms)) || ms > now)
      throw new UsageError(`--ended-before: '${value}' reaches before 1970`);
    return now - Math.round(ms);
  }
  if (/^-/.test(given)) throw new UsageError(`--ended-before: '${value}' is negative (${FORMS})`);
  const day = /^(\d{4})-(\d{2})-(\d{2})([T ]|$)/.exec(given);
  if (day) {
    const at = Date.parse(given);
    // Date.parse rolls a day past its month's end over (2026-02-30 is 2 March): that is a typo, not a date.
    const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const valid = !Number.isNaN(at) && date >= 1 && date <= new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (!valid) throw new UsageError(`--ended-before: '${value}' is not a valid date (${FORMS})`);
    if (at > now) throw new UsageError(`--ended-before: '${value}' is in the future`);
    return at;
  }
  throw new UsageError(`--ended-before: cannot read '${value}' (${FORMS})`);
}

/** `runs prune`: prints how many runs went (or, with `--dry-run`, would go) and returns the exit code. */
export async function runsPrune({ values }: RunsInvocation, io: CliIO): Promise<number> {
  // Every option is checked before the store is opened: a mistake deletes nothing and contacts no server.
  const cut = endedBefore(text(values, 'ended-before'), Date.now());
  const given = text(values, 'limit');
  const limit = given === undefined ? undefined : positiveInt(given, '--limit', 1);
  const dryRun = values['dry-run'] === true;
  const store = openStore(storeUrl(text(values, 'store')));
  let result: { runs: number; batches: number };
  try {
    result = await pruneRuns(store, { endedBefore: cut, dryRun, ...(limit === undefined ? {} : { limit }) });
  } finally {
    await store.close();
  }
  const date = new Date(cut).toISOString();
  if (values.json === true) {
    io.out(
      JSON.stringify({ endedBefore: date, dryRun, runs: result.runs, batches: result.batches }, null, 2),
    );
    return 0;
  }
  const runs = `${result.runs} run${result.runs === 1 ? '' : 's'}`;
  if (dryRun) io.out(`would prune ${runs} that ended before ${date} (dry run: nothing was deleted)`);
  else
    io.out(
      `pruned ${runs} that ended before ${date}, with their journal, timers and signals (${result.batches} batch${result.batches === 1 ? '' : 'es'})`,
    );
  return 0;
}
