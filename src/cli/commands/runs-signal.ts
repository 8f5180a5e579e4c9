/**
 * `flowstate runs decide|send|cancel`: a signal to a run, wherever it runs. The engine delivers it through the
 * store's inbox to the engine that owns the run and waits (`--timeout`, 30 s by default) until the owner applied
 * or refused it (`--signal-id <name>`: sent again under the same name, it is applied once). A run of a template that
 * no live engine owns is taken here, given the signal and handed back (`signalRun`, shared with `flowstate serve`).
 */
import type { EscalationDecision } from '../../model/agent.js';
import type { WorkflowEvent } from '../../runtime/run.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { heldByLiveEngine, signalRun } from '../signal-run.js';
import { openStore, storeUrl, withoutPassword } from '../store-url.js';
import { EXIT, positiveInt, type RunsInvocation, text } from './runs-common.js';

/** How long a signal waits for the run's owner, by default. */
const TIMEOUT_MS = 30_000;

/**
 * Runs `runs decide`, `runs send` or `runs cancel` and returns the exit code. Throws what {@link runsFailure}
 * maps to an exit code.
 *
 * @example
 * ```ts
 * const code = await runsSignal(parseRuns(['cancel', 'r1', '--store', 'sqlite:./flowstate.db']), io);
 * ```
 */
export async function runsSignal(invocation: RunsInvocation, io: CliIO): Promise<number> {
  const { sub, values, positionals } = invocation;
  const [id = '', arg = ''] = positionals;
  // Every argument is checked before the store is opened.
  const timeoutMs = positiveInt(text(values, 'timeout'), '--timeout', TIMEOUT_MS);
  const decision = sub === 'decide' ? parseDecision(values) : undefined;
  const event = sub === 'send' ? parseEvent(arg) : undefined;
  const reason = text(values, 'reason');
  // Named: a command run again (after a timeout, exit 4) is applied once.
  const signalId = text(values, 'signal-id');
  const options = { timeoutMs, signalId };
  const url = storeUrl(text(values, 'store'));
  const store = openStore(url);
  try {
    // No live engine runs it: the signal is applied here and the run handed back, to go on where it is resumed.
    const stored = sub === 'cancel' ? undefined : await store.getRun(id);
    const unowned = stored !== undefined && !heldByLiveEngine(stored);
    const next = unowned
      ? `; no engine runs it now: 'flowstate runs resume ${id} --store ${withoutPassword(url)}' goes on`
      : '';
    if (decision) {
      await signalRun(store, id, 'decision', { stepPath: arg, decision }, options);
      io.out(`run ${id}: decision '${decision.action}' applied at '${arg}'${next}`);
      return EXIT.ok;
    }
    if (event) {
      const taken = await signalRun(store, id, 'event', { event }, options);
      if (!taken) {
        io.err(`flowstate: run ${id} took no '${event.type}' event: no waitFor step of it waits for one now`);
        return EXIT.refused;
      }
      io.out(`run ${id}: event '${event.type}' delivered${next}`);
      return EXIT.ok;
    }
    await signalRun(store, id, 'cancel', reason === undefined ? {} : { reason }, options);
    io.out(`run ${id}: cancel applied${reason === undefined ? '' : ` (${reason})`}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `--action retry|skip|abort [--value <json>] [--reason <text>]` as an escalation decision. */
function parseDecision(values: RunsInvocation['values']): EscalationDecision {
  const action = text(values, 'action');
  const value = text(values, 'value');
  const reason = text(values, 'reason');
  if (action === undefined) throw new UsageError("missing --action retry|skip|abort for 'runs decide'");
  if (action !== 'retry' && action !== 'skip' && action !== 'abort')
    throw new UsageError(`--action is retry, skip or abort, got '${action}'`);
  if (value !== undefined && action !== 'skip') throw new UsageError('--value goes with --action skip');
  if (reason !== undefined && action !== 'abort') throw new UsageError('--reason goes with --action abort');
  if (action === 'retry') return { action };
  if (action === 'abort') return reason === undefined ? { action } : { action, reason };
  return value === undefined ? { action } : { action, value: parseJSON(value, '--value') };
}

/** `<event-json>`: a JSON object with a string `type`; the rest is the payload. */
function parseEvent(json: string): WorkflowEvent {
  const event = parseJSON(json, '<event-json>');
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new UsageError(`<event-json> is a JSON object such as '{"type":"approved"}', got '${cut(json)}'`);
  const { type } = event as { type?: unknown };
  if (typeof type !== 'string' || type === '')
    throw new UsageError(`<event-json> needs a string "type", such as '{"type":"approved"}'`);
  return event as WorkflowEvent;
}

function parseJSON(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    const hint = what === '--value' ? ` (a string is quoted: '"ok"')` : '';
    throw new UsageError(`${what} is not valid JSON${hint}: ${(error as Error).message}, in '${cut(json)}'`);
  }
}

function cut(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
