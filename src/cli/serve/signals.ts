/**
 * The API's writes: `POST /api/runs/:id/decide|send|cancel`, behind the token. A run held by a live engine gets the
 * signal through the store's inbox from its owner (answered once applied, `202` when not in time). A run no live
 * engine holds is handled as `flowstate runs decide|send|cancel` handles it (`signalRun`): a template's run is
 * taken, given the signal and handed back at once, and a cancel of any run is applied, answered `200` like a live
 * apply; what such a run would refuse is refused from its stored state, without taking it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import { handwrittenMachineOf } from '../../dsl/handwritten.js';
import type { AnyWorkflowDefinition } from '../../model/definition.js';
import { FlowstateError, SignalTimeoutError } from '../../model/errors.js';
import type { WorkflowStore } from '../../persistence/types.js';
import { UNFINISHED } from '../../persistence/types.js';
import { earlierSignal, keyedSignalId, postSignal, type SignalBody } from '../../runtime/inbox.js';
import { appliedWhenUnowned, heldByLiveEngine, type SignalKind, signalRun } from '../signal-run.js';
import { readJsonObject } from './body.js';
import type { RunFeed } from './feed.js';
import { HttpError } from './http-error.js';
import { refusalOf } from './signal-check.js';

/** The longest `Idempotency-Key`: the engine's limit on a signal's name. */
const MAX_KEY = 200;

/** What the signal routes need of the app. */
export interface SignalRoutesOptions {
  readonly store: WorkflowStore;
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  readonly feed: RunFeed;
  /** Writes need `Authorization: Bearer <token>`; without one every write is a `403`. */
  readonly token: string | undefined;
  /** How long a signal waits for the run's owner before it is reported queued. */
  readonly timeoutMs: number;
  /** The largest body a write takes, in bytes: a larger one is a `413`. */
  readonly maxBodyBytes: number;
}

/** What became of a signal: its result, its refusal read from the stored run, or left to the run's owner. */
type Handled = { readonly result: Promise<unknown> } | { readonly refused: string } | 'to-owner';

/**
 * Adds the three signal routes to `app`.
 *
 * @example
 * ```ts
 * signalRoutes(app, { store, workflows, feed, token, timeoutMs: 10_000, maxBodyBytes: 1024 * 1024 });
 * ```
 */
export function signalRoutes(app: Hono, options: SignalRoutesOptions): void {
  const { store, feed, timeoutMs } = options;
  const turns = new RunTurns();

  /** Everything up to the owner's answer, one signal at a time per run (see {@link RunTurns}). */
  const handle = (id: string, kind: SignalKind, body: SignalBody, key: string | undefined) =>
    turns.take(id, async (): Promise<Handled> => {
      // `Idempotency-Key`: a request sent again (its answer lost, or 202) is applied once, answered alike.
      if (key !== undefined) {
        const message = {
          id: keyedSignalId(id, key),
          runId: id,
          kind,
          body: JSON.stringify(body),
          state: 'pending' as const,
          createdAt: Date.now(),
        };
        const earlier = await earlierSignal(store, message, timeoutMs);
        // Still queued for a live owner: waited for after this turn, which must not hold up the run's next request.
        if (earlier) return { result: handled(earlier.answer) };
      }
      const run = await store.getRun(id);
      if (!run) throw new HttpError(404, `no run ${id}`);
      if (!UNFINISHED.includes(run.status))
        throw new HttpError(409, `run ${id} already ended (${run.status})`, 'CONFIGURATION_INVALID');
      if (heldByLiveEngine(run)) return 'to-owner';
      // No live owner: what the run would refuse is refused from its stored state, without taking the run.
      const detail = await feed.detail(id);
      const definition = options.workflows.get(run.workflow);
      const compiled = definition !== undefined && !handwrittenMachineOf(definition);
      const refused = detail && refusalOf(kind, body, detail, compiled);
      if (refused) return { refused };
      // A run of a definition only its own programs can run waits in the inbox for the next (a cancel excepted).
      if (!appliedWhenUnowned(run.workflow, kind)) return 'to-owner';
      // Taken, given the signal, committed and handed back before the run's next request is looked at.
      const result = await signalRun(store, id, kind, body, { timeoutMs, signalId: key });
      return { result: Promise.resolve(result) };
    });

  const route = (kind: SignalKind, read: (body: Record<string, unknown>) => SignalBody) =>
    app.post(
      `/api/runs/:id/${kind === 'decision' ? 'decide' : kind === 'event' ? 'send' : 'cancel'}`,
      async (c) => {
        authorize(options.token, c.req.header('authorization'));
        const id = c.req.param('id');
        const body = read(await readJsonObject(c.req.raw, options.maxBodyBytes));
        const header = c.req.header('idempotency-key');
        const key = header === undefined || header === '' ? undefined : header;
        // A signal's name (`signalId`) is at most 200 characters: refused here alike whichever path the write takes.
        if (key !== undefined && key.length > MAX_KEY)
          throw new HttpError(400, `Idempotency-Key is at most ${MAX_KEY} characters`);
        try {
          const done = await handle(id, kind, body, key);
          if (done !== 'to-owner' && 'refused' in done)
            return c.json({ applied: false, code: 'CONFIGURATION_INVALID', error: done.refused }, 409);
          const result =
            done === 'to-owner'
              ? await postSignal(store, id, kind, body, timeoutMs, key && keyedSignalId(id, key))
              : await done.result;
          feed.poke(id);
          return c.json({ applied: true, result: result ?? null });
        } catch (error) {
          if (error instanceof SignalTimeoutError)
            return c.json(
              { applied: false, queued: true, message: 'no live engine applied it yet: it stays queued' },
              202,
            );
          // The run is not stored (pruned while the signal was sent, after the read above): as a run not found.
          if (error instanceof FlowstateError && error.code === 'RUN_NOT_FOUND')
            return c.json({ applied: false, code: error.code, error: error.message }, 404);
          if (error instanceof FlowstateError)
            return c.json({ applied: false, code: error.code, error: error.message }, 409);
          throw error;
        }
      },
    );
  route('decision', (b) => ({ stepPath: str(b.stepPath, 'stepPath'), decision: decisionOf(b) }));
  route('event', (b) => {
    const event = b.event as { type?: unknown } | undefined;
    if (!event || typeof event !== 'object' || typeof event.type !== 'string' || event.type === '')
      throw new HttpError(400, 'event needs a string type');
    return { event: event as { type: string } };
  });
  route('cancel', (b) => (typeof b.reason === 'string' && b.reason !== '' ? { reason: b.reason } : {}));
}

/**
 * One turn at a time per run in this server. Two requests for a run no engine holds would otherwise both try to take
 * it: the second, finding it taken, would wait in the inbox for an owner about to hand the run back without reading
 * it (a signal answered `202` and left queued). In turns, the second sees the run as the first left it, as if sent
 * after it. A turn ends before any wait for a live owner, so a busy owner holds up no other request.
 */
class RunTurns {
  private readonly last = new Map<string, Promise<unknown>>();

  take<T>(runId: string, turn: () => Promise<T>): Promise<T> {
    const mine = (this.last.get(runId) ?? Promise.resolve()).then(turn);
    const settled = mine.then(
      () => {},
      () => {},
    );
    this.last.set(runId, settled);
    // The map holds only runs with a turn going or waiting.
    void settled.then(() => {
      if (this.last.get(runId) === settled) this.last.delete(runId);
    });
    return mine;
  }
}

/** A promise awaited later: its rejection is handled there, not reported as unhandled meanwhile. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function authorize(token: string | undefined, header: string | undefined) {
  if (token === undefined)
    throw new HttpError(403, 'read-only: start flowstate serve with a token to allow writes');
  if (header === undefined || !/^Bearer\s+\S/i.test(header))
    throw new HttpError(401, 'a write needs Authorization: Bearer <token>');
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const wanted = Buffer.from(token);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    throw new HttpError(
      401,
      'wrong token: use the one flowstate serve printed at start (or gave with --token)',
    );
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `${name} is required`);
  return value;
}

function decisionOf(b: Record<string, unknown>) {
  const action = b.action;
  if (action === 'retry') return { action } as const;
  if (action === 'abort')
    return typeof b.reason === 'string' ? ({ action, reason: b.reason } as const) : ({ action } as const);
  if (action === 'skip') return 'value' in b ? ({ action, value: b.value } as const) : ({ action } as const);
  throw new HttpError(400, 'action is retry, skip or abort');
}
