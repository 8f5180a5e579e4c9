/**
 * A signal to a run no live engine holds would be taken by the server only to be refused, or, for a run it cannot
 * take, queued until an engine takes the run (the API answers `202`), its sender told "queued" for a signal the run
 * will never read. The run's stored state says so at once: refused with `409`, as its owner would, without taking it.
 */
import type { SignalBody } from '../../runtime/inbox.js';
import type { RunDetail } from './run-view.js';

/**
 * Why the run, as stored, would refuse this signal; `undefined` if it would take it, or if its state cannot tell (a
 * cancel; an event to a run of a definition the server does not know, or of a hand-written machine, whose events its
 * own states take).
 *
 * @example
 * ```ts
 * const why = refusalOf('decision', { stepPath: 'review', decision: { action: 'retry' } }, detail);
 * ```
 */
export function refusalOf(
  kind: 'decision' | 'event' | 'cancel',
  body: SignalBody,
  detail: RunDetail,
  /** The server knows the run's definition, compiled from the builder or JSON: its waits are all it takes events at. */
  compiled: boolean,
): string | undefined {
  const { waiting, chart } = detail;
  const listed = (paths: readonly string[]) => (paths.length > 0 ? paths.join(', ') : 'none');
  if (kind === 'decision') {
    const { stepPath } = body as { stepPath: string };
    const escalated = waiting.filter((w) => w.kind === 'escalation').map((w) => w.path);
    if (escalated.includes(stepPath)) return undefined;
    return `Step '${stepPath}' is not waiting for a decision (steps waiting for one: ${listed(escalated)})`;
  }
  if (kind === 'event') {
    // Only a compiled workflow's waits are known from its state (a hand-written machine takes events in any state).
    if (!compiled || !chart) return undefined;
    const { type } = (body as { event: { type: string } }).event;
    const events = waiting.flatMap((w) => (w.kind === 'wait' && w.event ? [w.event] : []));
    if (events.includes(type)) return undefined;
    return `No waitFor step of the run waits for a '${type}' event now (events awaited: ${listed(events)})`;
  }
  return undefined;
}
