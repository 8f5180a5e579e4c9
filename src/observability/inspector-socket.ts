/**
 * The Stately inspector's transport in a Node process (see `createNodeInspector`): a WebSocket to the inspector's
 * relay that never keeps the process alive (its socket and timers are unref'd), reconnects after a pause, keeps the
 * newest events while not connected, and stops for good on `stop()`.
 */

/** What the adapter reads of `NodeInspectorOptions`. */
export interface SocketSettings {
  readonly url: string;
  readonly connectTimeoutMs?: number;
  readonly retryMs?: number;
  readonly maxBuffered?: number;
}

/** What the adapter connects with: `ws`'s WebSocket class over a socket of node:net or node:tls. */
export interface SocketDeps {
  readonly WebSocket: typeof import('ws').default;
  readonly netConnect: typeof import('node:net').connect;
  readonly tlsConnect: typeof import('node:tls').connect;
}
/** A `ws` WebSocket. */
type WebSocket = InstanceType<SocketDeps['WebSocket']>;

/** Stately's adapter contract: `send` gets each event in Stately's format. */
export class NodeSocketAdapter {
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

  constructor(private readonly options: SocketSettings) {}

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
