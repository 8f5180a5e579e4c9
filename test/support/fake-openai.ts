import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server does with one request. */
export type FakeReply =
  | { readonly kind: 'json'; readonly content: unknown; readonly usage?: readonly [number, number] }
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string> }
  | { readonly kind: 'hang' };

/** A request the fake server got. */
export interface FakeRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: {
    model?: string;
    messages?: { role: string; content: string }[];
    response_format?: unknown;
  };
  /** Set when the client went away before an answer (an aborted call). */
  closedEarly: boolean;
}

/**
 * An OpenAI-compatible chat completions server on 127.0.0.1 (a random port) for tests: each request takes the next
 * reply of the script (the last one repeats), so a test can play 429-then-success, a 500, or a response that never
 * comes. No internet: the real `@ai-sdk/openai-compatible` client talks to it over real HTTP.
 */
export async function fakeOpenAI(script: FakeReply[]) {
  const requests: FakeRequest[] = [];
  let next = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const record: FakeRequest = {
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(raw || '{}'),
        closedEarly: false,
      };
      requests.push(record);
      res.on('close', () => {
        if (!res.writableEnded) record.closedEarly = true;
      });
      const reply = script[Math.min(next++, script.length - 1)] as FakeReply;
      if (reply.kind === 'hang') return;
      if (reply.kind === 'status') {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify({ error: { message: `fake ${reply.status}`, type: 'fake', code: null } }));
        return;
      }
      const [input, output] = reply.usage ?? [100, 20];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: record.body.model ?? 'fake',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: JSON.stringify(reply.content) },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
