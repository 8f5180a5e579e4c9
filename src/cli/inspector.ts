/**
 * `flowstate run --inspect[=<url>]`: the Stately inspector relay is probed first, with a short timeout, so that an
 * unreachable relay costs a fraction of a second and one line on stderr instead of seconds of silent retries
 * while the run goes (and a flush at exit that waits for a socket that never opens).
 */
import { connect } from 'node:net';
import { createNodeInspector, DEFAULT_INSPECTOR_URL, type NodeInspector } from '../observability/inspect.js';
import type { CliIO } from './demo-command.js';

/** How long the relay has to accept a connection. */
const PROBE_MS = 500;

/**
 * Why the relay at `url` cannot be reached, or `undefined` when it accepts a TCP connection within `timeoutMs`.
 *
 * @example
 * ```ts
 * await unreachable('ws://127.0.0.1:8080', 500); // 'connection refused', or undefined
 * ```
 */
function unreachable(url: string, timeoutMs: number): Promise<string | undefined> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve('not a URL');
  }
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') return Promise.resolve('not a ws:// URL');
  const port = Number(target.port || (target.protocol === 'wss:' ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const settle = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => settle(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => settle(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      settle(error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? error.message)),
    );
  });
}

/**
 * The inspector `--inspect` asks for (`true`: the default relay; a string: that URL), once its relay answered;
 * `undefined`, with one line on stderr, when it does not (the run goes on without it).
 *
 * @example
 * ```ts
 * const inspector = await cliInspector(options.inspect, io);
 * // ... run with createEngine({ inspect: inspector }) ...
 * await inspector?.close(1_000);
 * ```
 */
export async function cliInspector(
  flag: boolean | string | undefined,
  io: CliIO,
): Promise<NodeInspector | undefined> {
  if (flag === undefined || flag === false) return undefined;
  const url = flag === true || flag === '' ? DEFAULT_INSPECTOR_URL : flag;
  const why = await unreachable(url, PROBE_MS);
  if (why !== undefined) {
    io.err(
      `flowstate: no inspector relay at ${url} (${why}); running without it. Start the relay first: docs/inspector.md`,
    );
    return undefined;
  }
  return createNodeInspector({ url, connectTimeoutMs: PROBE_MS * 2 });
}
