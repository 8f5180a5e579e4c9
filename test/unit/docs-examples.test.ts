import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

// The docs are tested as text and as programs, so the README, the API reference and the examples cannot drift
// from the code. Examples import 'flowstate', which vitest.config.ts aliases to src/index.ts.

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const examplesDir = fileURLToPath(new URL('docs/examples/', root));
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.ts'))
  .sort();

/** The ```ts blocks of a markdown text, without their fences. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** A block is a fragment, never run, when its first line says so. */
const isFragment = (block: string) => block.startsWith('// not run');

describe('README code blocks', () => {
  const readme = read('README.md');
  const blocks = tsBlocks(readme);

  it('shows docs/examples/quickstart.ts, character for character, as its first code block', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks[0]).toBe(read('docs/examples/quickstart.ts'));
  });

  it('runs every block not marked `// not run`: each is one of the example files run below', () => {
    const sources = examples.map((f) => read(`docs/examples/${f}`));
    const runnable = blocks.filter((b) => !isFragment(b));
    expect(runnable.length).toBeGreaterThan(0);
    for (const block of runnable) expect(sources).toContain(block);
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|src|test)\/[^)#]*)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(existsSync(new URL(link, root)), link).toBe(true);
  });
});

describe('docs/api.md', () => {
  it('has a section for every export of src/index.ts and src/json.ts', () => {
    const index = read('src/index.ts') + read('src/json.ts');
    const names = [...index.matchAll(/^export (?:type )?\{([^}]*)\}/gm)].flatMap((m) =>
      (m[1] ?? '')
        .split(',')
        .map((s) => s.trim().replace(/^type\s+/, ''))
        .filter(Boolean),
    );
    expect(names).toContain('createEngine');
    const api = read('docs/api.md');
    const missing = names.filter((name) => !api.includes(`\n### \`${name}\`\n`));
    expect(missing).toEqual([]);
  });

  it('links only to anchors it has (GitHub lowercases heading text into the anchor)', () => {
    const api = read('docs/api.md');
    const anchors = new Set(
      [...api.matchAll(/^#{2,3} `?([^`\n]+)`?$/gm)].map((m) => (m[1] ?? '').toLowerCase()),
    );
    const links = [...api.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(40);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});

describe('docs/handwritten.md', () => {
  it('shows docs/examples/handwritten.ts, character for character, as its first code block', () => {
    expect(tsBlocks(read('docs/handwritten.md'))[0]).toBe(read('docs/examples/handwritten.ts'));
  });
});

describe('docs/examples', () => {
  afterEach(() => vi.restoreAllMocks());

  /** What each example logs, call by call. A new example must add its expected output here. */
  const expected: Record<string, unknown[][]> = {
    'quickstart.ts': [[{ lookup: { name: 'Ada', title: 'Countess' }, greet: 'Hello, Countess Ada!' }]],
    'handwritten.ts': [
      [true],
      [['lookup fails', 'lookup done -> greet done', 'lookup done -> greet fails -> failed']],
      ['Hello, Countess Ada!'],
    ],
    'escalation.ts': [
      ['waiting on', ['charge']],
      [
        {
          charge: { refunded: false, note: 'refund handled by phone' },
          notify: 'customer told: refund handled by phone',
        },
      ],
    ],
    'fanout.ts': [
      [
        {
          topic: 'statecharts',
          summaries: [
            'summary of "statecharts on the web"',
            'summary of "statecharts forum thread"',
            'summary of "statecharts: a survey"',
          ],
        },
      ],
    ],
  };

  it('lists an expected output for exactly the example files there are', () => {
    expect(examples).toEqual(Object.keys(expected).sort());
  });

  it.each(examples)('%s runs to completion and logs what the docs say', async (file) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    // Top-level await: the import settles only once the example's run has ended.
    await import(/* @vite-ignore */ `${examplesDir}${file}`);
    expect(log.mock.calls).toEqual(expected[file]);
  });
});
