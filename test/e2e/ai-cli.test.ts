import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, root, runCli } from '../support/cli.js';
import { fakeOpenAI } from '../support/fake-openai.js';

// The shipped CLI (a private build, as `npm run build` makes it) with an LLM filling query-generation's generator:
// `flowstate run query-generation --model openai-compatible:fake --model-url http://127.0.0.1:<port>/v1`, against a
// fake OpenAI-compatible server this test starts. No internet.
const out = join(root, 'node_modules/.cache/flowstate-ai-cli-test');
const main = join(out, 'bundle/cli.js');

const SHIPPED = {
  sql: 'SELECT count(*) AS count FROM "public"."orders" t0 WHERE t0."status" = $1',
  params: ['shipped'],
  explanation: 'The number of orders whose status is shipped',
};

let server: Awaited<ReturnType<typeof fakeOpenAI>>;
beforeAll(async () => {
  buildCli(out);
  expect(existsSync(main)).toBe(true);
  server = await fakeOpenAI([
    { kind: 'status', status: 429, headers: { 'retry-after-ms': '200' } },
    { kind: 'json', content: SHIPPED, usage: [250, 30] },
  ]);
}, 180_000);
afterAll(() => server?.close());

describe('flowstate run --model', () => {
  it('answers with the model’s checked query after a 429, and prints the tokens on the step line', async () => {
    const request = JSON.stringify({ request: 'How many orders have status shipped?' });
    const ran = await runCli(
      main,
      [
        'run',
        'query-generation',
        '--model',
        'openai-compatible:fake',
        '--model-url',
        server.url,
        '--input',
        request,
      ],
      60_000,
    );
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/↻ generate attempt 1 failed \(.*HTTP 429\)\); retry 2 in \d+ ms/);
    expect(ran.stdout).toMatch(/✓ generate \d+ ms \(2 attempts, 280 tokens\)/);
    expect(ran.stdout).toContain('answered');
    expect(server.requests).toHaveLength(2);
  }, 90_000);
});
