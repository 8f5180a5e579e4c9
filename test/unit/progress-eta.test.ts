import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AgentContext,
  type AgentRegistry,
  type AnyWorkflowDefinition,
  memoryHistory,
  workflow,
} from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { collect, etaErrors, seeded, sleeper } from '../support/progress.js';

// ETA accuracy, measured: each scenario runs once so the history learns it, then again while every emission's ETA
// is compared with the time the run really had left. Durations are known (fake clock), so the figures are exact.

interface Scenario {
  readonly name: string;
  /** Its name in docs/progress.md. */
  readonly short: string;
  readonly definition: AnyWorkflowDefinition;
  readonly input: unknown;
  /** Base duration of each agent, in ms. */
  readonly durations: Readonly<Record<string, number>>;
  /** Agents that return something other than 'ok'. */
  readonly values?: Readonly<Record<string, (ctx: AgentContext) => unknown>>;
}

const rounds = new Map<string, number>();

const child = workflow('etaChild').step('c1').step('c2').build();

const scenarios: Scenario[] = [
  {
    name: 'sequence',
    short: 'sequence',
    definition: workflow('etaSeq')
      .step('fetch', { expectedMs: 50 })
      .step('analyze')
      .step('report', { expectedMs: 5_000 })
      .build(),
    input: {},
    durations: { fetch: 120, analyze: 340, report: 90 },
  },
  {
    name: 'parallel regions of unequal length',
    short: 'parallel',
    definition: workflow('etaPar')
      .parallel('p', {
        x: (r) => r.step('x1').step('x2'),
        y: (r) => r.step('y1'),
        z: (r) => r.step('z1').step('z2').step('z3'),
      })
      .step('join')
      .build(),
    input: {},
    durations: { x1: 100, x2: 150, y1: 400, z1: 50, z2: 60, z3: 70, join: 80 },
  },
  {
    name: 'map',
    short: 'map',
    definition: workflow('etaMap')
      .step('prep')
      .map('check', { items: 'input.tables', step: { agent: 'checkTable' }, concurrency: 3 })
      .step('summarize')
      .build(),
    input: { tables: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] },
    durations: { prep: 60, checkTable: 110, summarize: 40 },
  },
  {
    name: 'branch',
    short: 'branch',
    definition: workflow('etaBranch')
      .step('scan')
      .branch('triage', [
        { when: 'results.scan.critical', then: (b) => b.step('review').step('fix') },
        { otherwise: (b) => b.step('note') },
      ])
      .step('close')
      .build(),
    input: {},
    durations: { scan: 150, review: 400, fix: 120, note: 60, close: 30 },
    values: { scan: () => ({ critical: true }) },
  },
  {
    name: 'loop',
    short: 'loop',
    definition: workflow('etaLoop')
      .loop('refine', (b) => b.step('draft').step('critique'), {
        until: 'results.critique.ok',
        maxIterations: 5,
      })
      .step('publish')
      .build(),
    input: {},
    durations: { draft: 100, critique: 50, publish: 20 },
    values: {
      critique: (ctx) => {
        const round = (rounds.get(ctx.workflowId) ?? 0) + 1;
        rounds.set(ctx.workflowId, round);
        return { ok: round >= 3 };
      },
    },
  },
  {
    name: 'child workflow',
    short: 'child workflow',
    definition: workflow('etaParent').step('pre').step('sub', { workflow: child }).step('post').build(),
    input: {},
    durations: { pre: 70, c1: 130, c2: 90, post: 40 },
  },
];

function agentsFor(s: Scenario, noise: number, random: () => number): AgentRegistry {
  const agents: Record<string, ReturnType<typeof sleeper>> = {};
  for (const [name, base] of Object.entries(s.durations)) {
    const ms = () => Math.round(base * (1 + noise * (2 * random() - 1)));
    agents[name] = sleeper(ms, s.values?.[name] ?? (() => 'ok'));
  }
  return agents;
}

/** Runs a scenario `learn` times, then once more measuring every emission's ETA error. */
async function measure(s: Scenario, options: { noise: number; learn: number; seed: number }) {
  const random = seeded(options.seed);
  const engine = testEngine({
    agents: agentsFor(s, options.noise, random),
    history: memoryHistory(),
    progress: { throttleMs: 0 },
  });
  for (let i = 0; i < options.learn; i++) {
    const run = engine.start(s.definition, s.input);
    await vi.advanceTimersByTimeAsync(10_000);
    await run.result;
  }
  const run = engine.start(s.definition, s.input);
  const seen = collect(run);
  await vi.advanceTimersByTimeAsync(10_000);
  await run.result;
  expect(seen.completed).toBe(true);
  return etaErrors(seen.emissions);
}

const figures: string[] = [];

/** A mean absolute percentage error, as docs/progress.md prints it. */
const percent = (mape: number) => `${(100 * mape).toFixed(2)}%`;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The measures, made once per file run (each test that needs one makes it, under its fake clock, if no test before
 * it did): an emission whose true remaining time is 0 (the last, at the end) is left out, as a relative error of
 * nothing left means nothing.
 */
let exact:
  | Promise<{ readonly errors: ReturnType<typeof etaErrors>[]; readonly relative: number[] }>
  | undefined;
let noisy: Promise<ReadonlyArray<{ readonly scenario: Scenario; readonly relative: number[] }>> | undefined;

function measureExact() {
  exact ??= (async () => {
    const errors: ReturnType<typeof etaErrors>[] = [];
    for (const [i, s] of scenarios.entries())
      errors.push(await measure(s, { noise: 0, learn: 1, seed: i + 1 }));
    const relative = errors
      .flat()
      .filter((e) => e.truth > 0)
      .map((e) => e.relative);
    figures.push(`exact durations: MAPE ${percent(mean(relative))} over ${relative.length} emissions`);
    return { errors, relative };
  })();
  return exact;
}

function measureNoisy() {
  noisy ??= (async () => {
    const out: Array<{ scenario: Scenario; relative: number[] }> = [];
    for (const [i, s] of scenarios.entries()) {
      const errors = await measure(s, { noise: 0.1, learn: 5, seed: 100 + i });
      const relative = errors.filter((e) => e.truth > 0).map((e) => e.relative);
      figures.push(
        `±10% durations, ${s.name}: MAPE ${percent(mean(relative))} over ${relative.length} emissions`,
      );
      out.push({ scenario: s, relative });
    }
    const all = out.flatMap((o) => o.relative);
    figures.push(`±10% durations, all scenarios: MAPE ${percent(mean(all))} over ${all.length} emissions`);
    return out;
  })();
  return noisy;
}

describe('ETA accuracy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());
  afterAll(() => {
    // The figures quoted in docs/progress.md; printed so a change in accuracy shows in the test output.
    console.info(figures.join('\n'));
  });

  it('after one run, every emission of every scenario is within 10% of the true remaining time', async () => {
    const { errors, relative } = await measureExact();
    for (const [i, s] of scenarios.entries()) {
      const own = errors[i] ?? [];
      expect(own.length, s.name).toBeGreaterThan(4);
      for (const e of own) expect(e.error, `${s.name} at ${e.at} ms`).toBeLessThanOrEqual(0.1 * e.truth);
    }
    expect(mean(relative)).toBeLessThan(0.1);
  });

  it('with durations varying ±10% from run to run, the mean absolute percentage error stays under 10%', async () => {
    const all = (await measureNoisy()).flatMap((o) => o.relative);
    expect(mean(all)).toBeLessThan(0.1);
  });

  it('docs/progress.md quotes the figures these measures give', async () => {
    const doc = readFileSync(new URL('../../docs/progress.md', import.meta.url), 'utf8');
    // One line of text: the page wraps its lines anywhere.
    const section = doc
      .slice(doc.indexOf('### Accuracy, measured'), doc.indexOf('## The step log'))
      .replace(/\s+/g, ' ');
    const { relative } = await measureExact();
    const perScenario = await measureNoisy();
    const all = perScenario.flatMap((o) => o.relative);
    expect(section).toContain(`| exact | 1 run | ${relative.length} | **${percent(mean(relative))}** |`);
    expect(section).toContain(`| 5 runs | ${all.length} | **${percent(mean(all))}** |`);
    for (const { scenario, relative: own } of perScenario)
      expect(section).toContain(`${scenario.short} ${percent(mean(own))} (${own.length} emissions)`);
  });

  it('before any history, uses expectedMs and then the default per step', async () => {
    const s = scenarios[0] as Scenario;
    const engine = testEngine({ agents: agentsFor(s, 0, Math.random), progress: { throttleMs: 0 } });
    const seen = collect(engine.start(s.definition, s.input));
    await vi.advanceTimersByTimeAsync(10_000);
    // fetch 50 (expectedMs) + analyze 1000 (default) + report 5000 (expectedMs).
    expect(seen.emissions[0]?.eta.remainingMs).toBe(6_050);
    expect(seen.emissions[0]?.eta.low).toBe(3_025);
    expect(seen.emissions[0]?.eta.high).toBe(12_100);
  });
});
