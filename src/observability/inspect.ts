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

/** What the adapter connects with: `ws`'s WebSocket class over a socket of node:net or node:tls. */
interface SocketDeps {
  readonly WebSocket: typeof import('ws').default;
  readonly netConnect: typeof import('node:net').connect;
  readonly tlsConnect: typeof import('node:tls').connect;
}
/** A `ws` WebSocket. */
type WebSocket = InstanceType<SocketDeps['WebSocket']>;

/** Stately's adapter contract: `send` gets each event in Stately's format. */
class NodeSocketAdapter {
  sent = 0;
  dropped = 0;
  /** `ws` and the socket makers, once loaded: connecting waits for them. */
  #deps: SocketDeps | undefined;
  #socket: WebSocket | undefined;
  #open = false;
  #stopped = true;
  #writing = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #queue: string[] = [];

  constructor(private readonly options: NodeInspectorOptions) {}

  /** Connects with these from now on (at once, if started). */
  useSocket(deps: SocketDeps): void {
    this.#deps = deps;
    this.#connect();
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#queue.length = 0;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#open = false;
    if (socket && socket.readyState === socket.OPEN) socket.close();
    else socket?.terminate();
  }

  send(event: unknown): void {
    const text = serialize(event);
    if (text === undefined || this.#stopped) {
      this.dropped++;
      return;
    }
    if (this.#open && this.#socket) {
      this.#write(this.#socket, text);
      return;
    }
    this.#queue.push(text);
    if (this.#queue.length > (this.options.maxBuffered ?? 1_000)) {
      this.#queue.shift();
      this.dropped++;
    }
  }

  /**
   * Waits for `loaded` (whether the inspector's dependencies loaded; the early events are handed over by then),
   * then for the queue to empty. A stopped adapter sends nothing more, so it does not wait for `loaded`.
   */
  async flush(timeoutMs: number, loaded: Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!this.#stopped && !(await within(loaded, timeoutMs))) return false;
    // Stately's inspector hands events over in a setTimeout(0): let those reach `send` first.
    await pause(0);
    for (;;) {
      if (this.#queue.length === 0 && this.#writing === 0) return true;
      if (this.#stopped || Date.now() >= deadline) return false;
      await pause(10);
    }
  }

  #write(socket: WebSocket, text: string): void {
    this.#writing++;
    socket.send(text, (error) => {
      this.#writing--;
      if (error) this.dropped++;
      else this.sent++;
    });
  }

  #connect(): void {
    const deps = this.#deps;
    if (this.#stopped || this.#socket || !deps) return;
    const { WebSocket, netConnect, tlsConnect } = deps;
    const secure = this.options.url.startsWith('wss:');
    const socket = new WebSocket(this.options.url, {
      handshakeTimeout: this.options.connectTimeoutMs ?? 2_000,
      // The inspector must never be what keeps a finished process alive: its socket is unref'd from the start.
      createConnection: ((opts: Record<string, unknown>) => {
        const stream = secure
          ? tlsConnect({
              ...opts,
              path: undefined,
              servername: String(opts.servername ?? opts.host ?? ''),
            } as never)
          : netConnect({ ...opts, path: opts.socketPath } as never);
        stream.unref();
        return stream;
      }) as never,
    });
    this.#socket = socket;
    socket.on('open', () => {
      this.#open = true;
      for (const text of this.#queue.splice(0)) this.#write(socket, text);
    });
    // A connection error is reported by 'close' next; without a listener, 'error' would throw.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#open = false;
      if (this.#stopped) return;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#connect();
      }, this.options.retryMs ?? 1_000);
      this.#retry.unref();
    });
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` resolves to `true` within `ms`. */
async function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** JSON text of an event; cycles become '[Circular]'; `undefined` when it cannot be serialized. */
function serialize(event: unknown): string | undefined {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(event, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (typeof value !== 'object' || value === null) return value;
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
      return value;
    });
  } catch {
    return undefined;
  }
}
