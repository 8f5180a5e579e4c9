import type { TimerRow } from '../persistence/types.js';

/** A node of a persisted XState snapshot, as far as deadlines and idleness go. */
export interface PersistedNode {
  snapshot?: {
    status?: string;
    phase?: string;
    deadline?: number;
    input?: { path?: string };
    context?: { pathPrefix?: string; waits?: Record<string, unknown> };
    children?: Record<string, PersistedNode>;
  };
  children?: Record<string, PersistedNode>;
}

/** What a run waits on in a persisted snapshot: its pending deadlines, and whether waiting is all it does. */
export interface RunWaits {
  /** Backoffs and escalations of step actors, waits' deadlines (in their machine's context, or a timer actor's). */
  readonly timers: TimerRow[];
  /**
   * Nothing runs: every live actor of the run is a step in backoff or escalated (waiting for a decision), or a
   * wait's deadline timer. A supervisor agent, an attempt, a compensation or an actor Flowstate does not know (a
   * hand-written invoke) makes the run busy.
   */
  readonly idle: boolean;
}

/** The pending deadlines of a persisted snapshot, and whether it only waits; one walk over its actor tree. */
export function waitsOf(runId: string, snapshot: PersistedNode['snapshot']): RunWaits {
  const timers: TimerRow[] = [];
  const idle = walk(runId, snapshot, '', timers);
  return { timers, idle };
}

function walk(runId: string, snapshot: PersistedNode['snapshot'], prefix: string, rows: TimerRow[]): boolean {
  let idle = true;
  // A machine's waits keep their deadlines in its context (no actor of their own: nothing that runs).
  const waits = snapshot?.context?.waits;
  if (waits && typeof waits === 'object')
    for (const [name, deadline] of Object.entries(waits))
      if (typeof deadline === 'number')
        rows.push({
          runId,
          stepPath: (snapshot?.context?.pathPrefix ?? prefix) + name,
          kind: 'wait',
          deadline,
        });
  for (const [id, child] of Object.entries(snapshot?.children ?? {})) {
    const s = child.snapshot;
    if (!s) continue;
    const live = s.status === undefined || s.status === 'active';
    if (typeof s.deadline === 'number') {
      if (s.phase === 'backoff')
        rows.push({ runId, stepPath: s.input?.path ?? prefix + id, kind: 'backoff', deadline: s.deadline });
      else if (s.phase === 'escalated' || s.phase === 'supervising') {
        rows.push({
          runId,
          stepPath: s.input?.path ?? prefix + id,
          kind: 'escalation',
          deadline: s.deadline,
        });
      } else if (s.phase === undefined)
        // A wait's deadline timer actor, in runs stored before waits kept their deadlines in the context.
        rows.push({ runId, stepPath: prefix + id, kind: 'wait', deadline: s.deadline });
    }
    if (s.children) {
      if (!walk(runId, s, s.context?.pathPrefix ?? `${prefix}${id}/`, rows)) idle = false;
    } else if (live && !waiting(s)) idle = false;
  }
  return idle;
}

/** A live leaf actor that only waits: a step in backoff or escalated, or a deadline timer. */
function waiting(s: NonNullable<PersistedNode['snapshot']>): boolean {
  if (s.phase !== undefined) return s.phase === 'backoff' || s.phase === 'escalated';
  return typeof s.deadline === 'number';
}
