/**
 * Watching runs in the Stately inspector. `createNodeInspector` is a Stately inspector (`@statelyai/inspect`'s
 * `createInspector`, so its events are the ones Stately's tools read) with a WebSocket adapter made for a Node
 * process: it never keeps the process alive (its socket and timers are unref'd), `stop()` really stops it
 * (Stately's own WebSocket inspector keeps reconnecting every 5 s after a connection error, even after `stop()`),
 * and `flush()` waits until what was sent so far left the process.
 *
 * `@statelyai/inspect` and `ws` are imported when the first inspector is created, not with the package: the events
 * of the first moments wait for them (as they would for the connection anyway).
 */
import type { InspectionEvent, Observer } from 'xstate';
import { NodeSocketAdapter, type SocketDeps } from './inspector-socket.js';

/** The inspector's dependencies, once their import started. */
let inspectorDeps: Promise<InspectorDeps> | undefined;

interface InspectorDeps {
  readonly createInspector: typeof import('@statelyai/inspect').createInspector;
  readonly socket: SocketDeps;
}

/** The inspector's dependencies (node:net and node:tls too, which cost a few ms), imported on the first call. */
function loadInspectorDeps(): Promise<InspectorDeps> {
  inspectorDeps ??= Promise.all([
    import('@statelyai/inspect'),
    import('ws'),
    import('node:net'),
    import('node:tls'),
  ]).then(([stately, ws, net, tls]) => ({
    createInspector: stately.createInspector,
    socket: { WebSocket: ws.default, netConnect: net.connect, tlsConnect: tls.connect },
  }));
  return inspectorDeps;
}

/** What `@statelyai/inspect`'s `createInspector` returns, as used here. */
type StatelyInspector = ReturnType<typeof import('@statelyai/inspect').createInspector>;

/**
 * An inspector as the engine takes it: anything with an XState inspection observer (all Stately inspectors).
 *
 * @example
 * ```ts
 * const mine: InspectorLike = { inspect: (event) => console.log(event.type) };
 * ```
 */
export interface InspectorLike {
  /**
   * Receives every XState inspection event of the engine's runs: called, if a function, else through its `next`
   * (its `error` and `complete` are never called).
   */
  readonly inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/**
 * The engine's `inspect` option: an inspection function, or an inspector.
 *
 * @example
 * ```ts
 * createEngine({ inspect: createNodeInspector({ url: 'ws://127.0.0.1:8080' }) });
 * ```
 */
export type InspectOption = ((event: InspectionEvent) => void) | InspectorLike;

/**
 * The plain observer function behind an `inspect` option.
 *
 * @example
 * ```ts
 * const observe = inspectionObserver(createNodeInspector({ url: 'ws://127.0.0.1:8080' }));
 * ```
 */
export function inspectionObserver(
  option: InspectOption | undefined,
): ((event: InspectionEvent) => void) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') return option;
  const target = option.inspect;
  if (typeof target === 'function') return target;
  return (event) => target.next?.(event);
}

/**
 * Options of {@link createNodeInspector}.
 *
 * @example
 * ```ts
 * createNodeInspector({ url: 'ws://127.0.0.1:8080', retryMs: 500, maxBuffered: 5_000 });
 * ```
 */
export interface NodeInspectorOptions {
  /** The WebSocket server to send to, such as the relay `createInspectorServer` starts: `ws://127.0.0.1:8080`. */
  readonly url: string;
  /** How long one connection attempt may take. @default 2000 */
  readonly connectTimeoutMs?: number;
  /** The pause before connecting again after a connection ends or fails. @default 1000 */
  readonly retryMs?: number;
  /** Events kept while not connected; the oldest go first. @default 1000 */
  readonly maxBuffered?: number;
  /** Which inspection events to send (Stately's event format). @default all */
  readonly filter?: (event: { readonly type: string }) => boolean;
}

/**
 * A Stately inspector for Node processes: pass it to `createEngine({ inspect })`.
 *
 * @example
 * ```ts
 * const inspector: NodeInspector = createNodeInspector({ url: 'ws://127.0.0.1:8080' });
 * await inspector.close();
 * ```
 */
export interface NodeInspector extends InspectorLike {
  /**
   * Takes the runs' inspection events (through `next`) and sends those `filter` keeps; while not connected, up to
   * `maxBuffered` wait, and older ones are dropped.
   */
  readonly inspect: Observer<InspectionEvent>;
  /** Connects (done at creation). */
  start(): void;
  /** Stops sending and connecting at once; buffered events are dropped. */
  stop(): void;
  /** Resolves `true` once every event so far has been written to the socket, `false` after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes (waiting at most `timeoutMs`), then stops. */
  close(timeoutMs?: number): Promise<void>;
  /** Events written to the socket, and events dropped (buffer full, or not serializable). */
  readonly stats: { readonly sent: number; readonly dropped: number };
}

/**
 * Creates a Stately inspector that sends a run's inspection events over WebSocket without keeping the process
 * alive. Open the Stately inspector through the relay of `@statelyai/inspect/server` (see docs/inspector.md).
 *
 * @example
 * ```ts
 * const inspector = createNodeInspector({ url: 'ws://127.0.0.1:8080' });
 * const engine = createEngine({ agents, inspect: inspector });
 * await engine.start(definition, input).result;
 * await inspector.close(); // the last events are delivered before the process exits
 * ```
 */
export function createNodeInspector(options: NodeInspectorOptions): NodeInspector {
  const adapter = new NodeSocketAdapter(options);
  // Until the Stately inspector exists, events wait here as they came, for it to convert; the cap is the adapter's.
  let inspector: StatelyInspector | undefined;
  let unavailable = false;
  const early: InspectionEvent[] = [];
  // Whether the dependencies loaded; by then the early events went on to the Stately inspector.
  const loaded = loadInspectorDeps().then(
    (deps) => {
      adapter.useSocket(deps.socket);
      inspector = deps.createInspector(adapter, options.filter ? { filter: options.filter } : {});
      for (const event of early.splice(0)) inspector.inspect.next?.(event);
      return true;
    },
    () => {
      // Without its dependencies the inspector sends nothing: what waited, and what comes, is counted as dropped.
      unavailable = true;
      adapter.dropped += early.splice(0).length;
      adapter.stop();
      return false;
    },
  );
  adapter.start();
  return {
    inspect: {
      next: (event) => {
        if (inspector) {
          inspector.inspect.next?.(event);
          return;
        }
        if (unavailable) {
          adapter.dropped++;
          return;
        }
        early.push(event);
        if (early.length > (options.maxBuffered ?? 1_000)) {
          early.shift();
          adapter.dropped++;
        }
      },
    },
    // Stately's inspector only forwards start and stop to the adapter, so the adapter gets them directly.
    start: () => adapter.start(),
    stop: () => adapter.stop(),
    flush: (timeoutMs = 2_000) => adapter.flush(timeoutMs, loaded),
    close: async (timeoutMs = 2_000) => {
      await adapter.flush(timeoutMs, loaded);
      adapter.stop();
    },
    get stats() {
      return { sent: adapter.sent, dropped: adapter.dropped };
    },
  };
}

/**
 * Where `--inspect` sends events without a URL: the relay of docs/inspector.md.
 *
 * @example
 * ```ts
 * createNodeInspector({ url: DEFAULT_INSPECTOR_URL });
 * ```
 */
export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:8080';

/**
 * The inspector a command-line flag asks for: none when absent or `false`, the default relay for `true` (a bare
 * `--inspect`), that URL for a string (`--inspect=ws://host:port`).
 *
 * @example
 * ```ts
 * const inspector = inspectorFromFlag(values.inspect);
 * const engine = createEngine({ agents, ...(inspector ? { inspect: inspector } : {}) });
 * // ... run ...
 * await inspector?.close();
 * ```
 */
export function inspectorFromFlag(flag: string | boolean | undefined): NodeInspector | undefined {
  if (flag === undefined || flag === false) return undefined;
  return createNodeInspector({ url: flag === true || flag === '' ? DEFAULT_INSPECTOR_URL : flag });
}

/**
 * One observer for several `inspect` options (the CLI's progress lines and an inspector, say); absent ones are
 * skipped, and `undefined` comes back when none is given.
 *
 * @example
 * ```ts
 * createEngine({ agents, inspect: combineInspection(progress.inspect, inspectorFromFlag(flag)) });
 * ```
 */
export function combineInspection(
  ...options: ReadonlyArray<InspectOption | undefined>
): ((event: InspectionEvent) => void) | undefined {
  const observers = options.map(inspectionObserver).filter((o) => o !== undefined);
  if (observers.length === 0) return undefined;
  if (observers.length === 1) return observers[0];
  return (event) => {
    for (const observe of observers) observe(event);
  };
}
