/**
 * `flowstate runs list|show|decide|send|cancel|resume|prune ... --store <url>`: the operator's view of the runs in a
 * store, and the signals an operator sends them (docs/operators.md). `list` and `show` only read the store; the
 * signals go through the engine to the run's owner (`runs-signal.ts`); `resume` continues a template's run here
 * (`runs-resume.ts`); `prune` deletes ended runs past their retention (`runs-prune.ts`).
 *
 * Exit codes: 0 ok; 1 the run's owner refused the signal (or the resumed run failed); 2 a usage mistake or an
 * unknown run; 3 the resumed run waits on a human; 4 no live engine applied the signal in time (it stays queued).
 */
import type { RunFilter, RunRecord, RunStatus, TimerRow } from '../../persistence/types.js';
import { formatMs } from '../../progress/reporters/format.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { openStore, storeUrl } from '../store-url.js';
import { decisionText, notUndone } from './execute.js';
import { parseRuns, positiveInt, type RunsInvocation, runsFailure, text } from './runs-common.js';
import { runsPrune } from './runs-prune.js';
import { runsResume } from './runs-resume.js';
import { runsSignal } from './runs-signal.js';

const STATUSES: readonly RunStatus[] = ['running', 'waiting', 'done', 'failed', 'cancelled', 'compensated'];

/**
 * Runs `flowstate runs` on the arguments after `runs` and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runRunsCommand(['list', '--store', 'sqlite:./flowstate.db', '--json'], io);
 * ```
 */
export async function runRunsCommand(args: readonly string[], io: CliIO): Promise<number> {
  let invocation: RunsInvocation;
  try {
    invocation = parseRuns(args);
  } catch (error) {
    return runsFailure(error, io);
  }
  const [runId] = invocation.positionals;
  try {
    switch (invocation.sub) {
      case 'list':
        return await list(invocation, io);
      case 'show':
        return await show(invocation, io);
      case 'resume':
        return await runsResume(invocation, io);
      case 'prune':
        return await runsPrune(invocation, io);
      default:
        return await runsSignal(invocation, io);
    }
  } catch (error) {
    return runsFailure(error, io, runId);
  }
}

/** `runs list [--status s1,s2] [--workflow id] [--limit n] [--json]`: one line per run, oldest first. */
async function list({ values }: RunsInvocation, io: CliIO): Promise<number> {
  const filter: { -readonly [K in keyof RunFilter]: RunFilter[K] } = {};
  const statuses = text(values, 'status');
  if (statuses !== undefined) filter.status = parseStatuses(statuses);
  const workflow = text(values, 'workflow');
  if (workflow !== undefined) filter.workflow = workflow;
  const limit = text(values, 'limit');
  if (limit !== undefined) filter.limit = positiveInt(limit, '--limit', 1_000);
  const store = openStore(storeUrl(text(values, 'store')));
  let runs: RunRecord[];
  try {
    runs = await store.listRuns(filter);
  } finally {
    await store.close();
  }
  if (values.json === true) {
    io.out(JSON.stringify(runs.map(withoutInput), null, 2));
    return 0;
  }
  if (runs.length === 0) {
    io.out('no runs');
    return 0;
  }
  const now = Date.now();
  const rows = [
    ['RUN', 'WORKFLOW', 'STATUS', 'UPDATED', 'OWNER'],
    ...runs.map((r) => [r.id, r.workflow, r.status, iso(r.updatedAt), ownerText(r, now)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  for (const row of rows)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  io.out(`${runs.length} run${runs.length === 1 ? '' : 's'}`);
  return 0;
}

function parseStatuses(list: string): RunStatus[] {
  const statuses = list.split(',').map((s) => s.trim());
  for (const status of statuses) {
    if (!STATUSES.includes(status as RunStatus))
      throw new UsageError(`--status: unknown status '${status}' (statuses: ${STATUSES.join(', ')})`);
  }
  return statuses as RunStatus[];
}

/** `runs show <run> [--json]`: the run's record and its pending deadlines. */
async function show({ values, positionals }: RunsInvocation, io: CliIO): Promise<number> {
  const [id = ''] = positionals;
  const store = openStore(storeUrl(text(values, 'store')));
  let run: RunRecord | undefined;
  let timers: TimerRow[] = [];
  try {
    const stored = await store.getRun(id);
    if (stored) {
      const { snapshot: _snapshot, ...record } = stored;
      run = record;
      timers = await store.listTimers(id);
    }
  } finally {
    await store.close();
  }
  if (!run) {
    io.err(`flowstate: no run ${id} in the store`);
    return 2;
  }
  if (values.json === true) {
    io.out(JSON.stringify({ run, timers }, null, 2));
    return 0;
  }
  const now = Date.now();
  const field = (name: string, value: string) => io.out(`  ${name.padEnd(9)} ${value}`);
  io.out(`run ${run.id}`);
  field('workflow', `${run.workflow} (version ${run.version})`);
  field('status', run.status);
  field('owner', ownerText(run, now));
  field('created', iso(run.createdAt));
  field('updated', iso(run.updatedAt));
  if (run.input !== undefined) field('input', oneLine(run.input));
  if (run.error) field('error', `${run.error.message}${run.error.code ? ` (${run.error.code})` : ''}`);
  for (const line of notUndone(run.error)) io.out(`            ${line}`);
  if (run.output !== undefined) field('output', oneLine(run.output));
  for (const timer of timers) field('timer', timerText(timer, now));
  if (run.status === 'waiting' || run.status === 'running') {
    for (const timer of timers) {
      if (timer.kind === 'escalation')
        io.out(
          `  decide:   flowstate runs decide ${run.id} ${timer.stepPath} ${decisionText(run.workflow, timer.stepPath)}`,
        );
      if (timer.kind === 'wait')
        io.out(
          `  send:     flowstate runs send ${run.id} '{"type":"<the event waitFor '${timer.stepPath}' awaits>", ...}'`,
        );
    }
  }
  return 0;
}

/** A record for `list --json`: the input is left to `show`. */
function withoutInput({ input: _input, ...record }: RunRecord) {
  return record;
}

function iso(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString();
}

/** Who owns the run, and whether its lease is live. */
function ownerText(run: RunRecord, now: number): string {
  if (!run.owner) return '-';
  if (run.status !== 'running' && run.status !== 'waiting') return run.owner;
  const until = run.leaseUntil ?? 0;
  if (until === 0) return `${run.owner} (released)`;
  if (until <= now) return `${run.owner} (lease expired ${formatMs(now - until)} ago)`;
  return `${run.owner} (lease until ${iso(until)})`;
}

function timerText(timer: TimerRow, now: number): string {
  const when =
    timer.deadline >= now ? `in ${formatMs(timer.deadline - now)}` : `${formatMs(now - timer.deadline)} ago`;
  return `${timer.kind} of '${timer.stepPath}' due ${iso(timer.deadline)} (${when})`;
}

/** A value on one line, cut at 300 characters (`--json` has all of it). */
function oneLine(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 300 ? `${json.slice(0, 300)}… (see --json)` : json;
}
