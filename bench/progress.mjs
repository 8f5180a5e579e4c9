// The progress tracker's costs: `npm run build && node --expose-gc bench/progress.mjs` (add `--quick` for a smoke
// run). Prints, as a markdown table:
// - latency from a snapshot change to the progress emission (p50/p99), measured inside the change: an observer
//   registered before the tracker stamps the change, the tracker's emission stamps the end;
// - the same change with and without a tracker, end to end (the transition itself included);
// - heap per tracked run (its watch and one progress$ subscriber);
// - the engine's always-on watch (lean: nobody listens), per step of a sequence and per parked run.
import { createEngine, memoryHistory, trackProgress, workflow } from 'flowstate';
import { pino } from 'pino';
import { Bench } from 'tinybench';
import { createActor } from 'xstate';

// The watch the engine puts on every run is internal: it sits next to the package entry point in the build.
const { watchActor } = await import(new URL('./progress/watch.js', import.meta.resolve('flowstate')).href);

const quick = process.argv.includes('--quick');
const TIME = quick ? 300 : 3_000;
const WAITS = 40;
const noop = async () => null;

/** Waits released one by one (synchronous transitions), then a graph for the ETA to walk: parallel, map, branch. */
function benchWorkflow() {
  let b = workflow('progressBench');
  for (let i = 0; i < WAITS; i++) b = b.waitFor(`w${i}`, { event: 'go', timeoutMs: 3_600_000 });
  return b
    .parallel('p', {
      a: (r) => r.step('a1', { agent: 'noop' }).step('a2', { agent: 'noop' }),
      b: (r) => r.step('b1', { agent: 'noop' }),
      c: (r) => r.step('c1', { agent: 'noop' }).step('c2', { agent: 'noop' }).step('c3', { agent: 'noop' }),
    })
    .map('m', { items: 'input.items', step: { agent: 'noop' }, concurrency: 4 })
    .branch('br', [
      { when: 'input.flag', then: (x) => x.step('yes', { agent: 'noop' }) },
      { otherwise: (x) => x },
    ])
    .build();
}

const engine = createEngine({ agents: { noop }, logger: pino({ level: 'silent' }) });
const definition = benchWorkflow();
const machine = engine.machineFor(definition);
const input = { input: { items: Array.from({ length: 20 }, (_, i) => i), flag: true } };

const gc = () => {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
};

/** A parked actor, optionally tracked; `send()` releases one wait and returns the in-change latency (ms). */
function parked(tracked) {
  const actor = createActor(machine, input);
  let changedAt = 0;
  let latency = 0;
  actor.subscribe({ next: () => (changedAt = performance.now()), error: () => {} });
  if (tracked)
    trackProgress(actor, { throttleMs: 0 }).subscribe(() => (latency = performance.now() - changedAt));
  actor.start();
  let left = WAITS;
  return {
    send() {
      actor.send({ type: 'go' });
      left--;
      return latency;
    },
    get done() {
      return left === 0;
    },
    stop: () => actor.stop(),
  };
}

/** A task that releases one wait per call, on a fresh parked actor when the last one is used up. */
function releasing(tracked, inChange) {
  let current = parked(tracked);
  return () => {
    if (current.done) {
      current.stop();
      current = parked(tracked);
    }
    const latency = current.send();
    return inChange ? { overriddenDuration: latency } : undefined;
  };
}

const bench = new Bench({ time: TIME, warmupTime: TIME / 3, retainSamples: true, throws: true });
bench
  .add('snapshot change → progress emission (in change)', releasing(true, true))
  .add('transition + tracker, end to end', releasing(true, false))
  .add('transition without tracker, end to end', releasing(false, false));
await bench.run();

const quantile = (samples, q) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
const rows = bench.tasks.map((t) => {
  const samples = t.result.latency.samples ?? [];
  return `| ${t.name} | ${us(quantile(samples, 0.5))} | ${us(quantile(samples, 0.99))} | ${samples.length} |`;
});

/** Heap per actor: `count` parked actors with and without a tracker, after a full collection. */
function heapPerRun(count) {
  const measure = (tracked) => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const runs = Array.from({ length: count }, () => parked(tracked));
    gc();
    const after = process.memoryUsage().heapUsed;
    for (const r of runs) r.stop();
    return (after - before) / count;
  };
  measure(true);
  const plain = measure(false);
  const tracked = measure(true);
  return { plain, tracked, delta: tracked - plain };
}

/** A run of `machine` as the engine watches it (lean: nobody listens), or not watched at all. */
function leanRun(machine, input, watched) {
  const actor = createActor(machine, input);
  if (watched) watchActor(actor, { history, logger: silent, workflowId: machine.id, runId: actor.id });
  return actor;
}
const history = memoryHistory();
const silent = pino({ level: 'silent' });

/** Time per step of a sequence of no-op steps, with and without the engine's watch, batches interleaved. */
async function watchCostPerStep(steps, rounds) {
  let b = workflow('watchCost');
  for (let i = 0; i < steps; i++) b = b.step(`s${i}`, { agent: 'noop' });
  const sequence = engine.machineFor(b.build());
  const once = (watched) =>
    new Promise((resolve) => {
      const actor = leanRun(sequence, { input: { input: {} } }, watched);
      actor.subscribe({ complete: resolve, error: resolve });
      actor.start();
    });
  const spent = { bare: 0, watched: 0 };
  for (let round = 0; round < rounds + 3; round++) {
    for (const key of ['bare', 'watched']) {
      const started = performance.now();
      for (let i = 0; i < 10; i++) await once(key === 'watched');
      if (round >= 3) spent[key] += performance.now() - started;
    }
  }
  return { bare: spent.bare / rounds / 10 / steps, watched: spent.watched / rounds / 10 / steps };
}

/** Heap per parked run (a step done, then a wait), with and without the engine's watch. */
function leanHeap(count) {
  const parkedWorkflow = engine.machineFor(
    workflow('leanPark')
      .step('a', { agent: 'noop' })
      .waitFor('w', { event: 'go', timeoutMs: 3_600_000 })
      .build(),
  );
  const measure = async (watched) => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const actors = Array.from({ length: count }, () =>
      leanRun(parkedWorkflow, { input: { input: {} } }, watched).start(),
    );
    await new Promise((r) => setTimeout(r, 20));
    gc();
    const after = process.memoryUsage().heapUsed;
    for (const a of actors) a.stop();
    return (after - before) / count;
  };
  return (async () => {
    await measure(true);
    const bare = await measure(false);
    const watched = await measure(true);
    return { bare, watched };
  })();
}

const heap = heapPerRun(quick ? 200 : 2_000);
const perStep = await watchCostPerStep(100, quick ? 5 : 40);
const lean = await leanHeap(quick ? 500 : 5_000);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

console.log(`Progress tracker, Node ${process.version}${quick ? ' (quick)' : ''}\n`);
console.log('| measure | p50 | p99 | samples |');
console.log('| --- | --- | --- | --- |');
for (const row of rows) console.log(row);
console.log('');
console.log('| memory | per run |');
console.log('| --- | --- |');
console.log(`| parked actor, untracked | ${kb(heap.plain)} |`);
console.log(`| parked actor, watched + one progress$ subscriber | ${kb(heap.tracked)} |`);
console.log(`| tracking alone | ${kb(heap.delta)} |`);
console.log('');
console.log("| the engine's always-on watch | without | with | cost |");
console.log('| --- | --- | --- | --- |');
const pct = (a, b) => `${(100 * (b / a - 1)).toFixed(0)}%`;
console.log(
  `| 100-step sequence, per step | ${us(perStep.bare)} | ${us(perStep.watched)} | +${us(perStep.watched - perStep.bare)} (${pct(perStep.bare, perStep.watched)}) |`,
);
console.log(
  `| parked run, heap | ${kb(lean.bare)} | ${kb(lean.watched)} | +${kb(lean.watched - lean.bare)} (${pct(lean.bare, lean.watched)}) |`,
);
if (typeof globalThis.gc !== 'function') console.log('\n(run with --expose-gc for exact heap figures)');
