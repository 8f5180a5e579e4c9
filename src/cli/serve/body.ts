/**
 * A write's body, read with bounds: at most `maxBytes` (a bigger one is a `413` before it is read whole, so a client
 * cannot make the server hold hundreds of megabytes), a JSON object nested at most {@link MAX_DEPTH} levels (a
 * deeper one is a `400` before anything is parsed or stored: the engine's recursive code, storing and comparing
 * signals, would overflow the stack on it).
 */
import { HttpError } from './http-error.js';

/** The largest body a write takes by default: 1 MiB (`flowstate serve --max-body`). */
export const DEFAULT_MAX_BODY = 1024 * 1024;
/** The deepest nesting of objects and arrays a body may have (as `fromJSON`'s default `maxDepth`). */
const MAX_DEPTH = 64;

/**
 * The body of `request` as a JSON object (`{}` when empty); an {@link HttpError} `413` when it is larger than
 * `maxBytes`, `400` when it is not a JSON object or nests too deep.
 *
 * @example
 * ```ts
 * const body = await readJsonObject(c.req.raw, 1024 * 1024);
 * ```
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const text = await readText(request, maxBytes);
  if (text.trim() === '') return {};
  if (depthOver(text, MAX_DEPTH))
    throw new HttpError(400, `the body nests objects and arrays deeper than ${MAX_DEPTH} levels`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON: send a JSON object (content-type: application/json)');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body is a JSON object');
  return body as Record<string, unknown>;
}

/** The body as text, refused (`413`) as soon as it is known to be larger than `maxBytes`: by its length, or read. */
async function readText(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new HttpError(
      413,
      `the body is larger than ${maxBytes} bytes (flowstate serve --max-body sets the limit)`,
    );
  const length = request.headers.get('content-length');
  if (length !== null && Number(length) > maxBytes) throw tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    // What is left unread is drained (and dropped) by the HTTP server once the answer is sent.
    if (size > maxBytes) throw tooLarge();
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Whether JSON text nests objects and arrays deeper than `max`, counted on the text (outside strings), without
 * parsing it: cheap, and no recursion a hostile body could overflow.
 */
export function depthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
