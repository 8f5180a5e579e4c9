import { createEngine, workflow } from 'flowstate';
import { pino } from 'pino';
import { assign, createActor, fromPromise, setup } from 'xstate';
import { summarize } from '../harness.mjs';
import { sequenceNames } from '../workloads.mjs';

const STEPS = 10;

/**
 * An agent the benchmark releases by hand: `called()` resolves when the agent runs, `release()` settles it and
 * returns the time it did so.
 */
function gate() {
  let resolveCall;
  let resolveAgent;
  let called = new Promise((r) => {
    resolveCall = r;
  });
  const agent = () =>
    new Promise((r) => {
      resolveAgent = r;
      resolveCall();
    });
  return {
    agent,
    called: () => called,
    release() {
      called = new Promise((r) => {
        resolveCall = r;
      });
      const t0 = performance.now();
      resolveAgent(null);
      return t0;
    },
  };
}

/**
 * Drives one run step by step: after each agent call, releases it and waits for `observe(i)` to report (with a
 * timestamp) that step i is seen done. Returns the latencies (ms) from release to observation.
 */
async function drive(g, waitDone) {
  const latencies = [];
  for (let i = 0; i < STEPS; i++) {
    await g.called();
    const seen = waitDone(i);
    const t0 = g.release();
    latencies.push((await seen) - t0);
  }
  return latencies;
}

/** Resolves with the time `predicate(value)` first holds for a value pushed to `watchers`. */
function waiter(watchers, predicate) {
  return new Promise((resolve) => {
    watchers.push({ predicate, resolve });
  });
}
function notify(watchers, value) {
  const t = performance.now();
  for (let k = watchers.length - 1; k >= 0; k--) {
    if (watchers[k].predicate(value)) {
      watchers[k].resolve(t);
      watchers.splice(k, 1);
    }
  }
}

const runners = {
  /** Plain async: the awaiting code resumes. */
  async plain() {
    const g = gate();
    const watchers = [];
    const run = (async () => {
      for (let i = 0; i < STEPS; i++) {
        await g.agent();
        notify(watchers, i);
      }
    })();
    const latencies = await drive(g, (i) => waiter(watchers, (done) => done === i));
    await run;
    return latencies;
  },
  /** Raw XState: `actor.subscribe` sees the snapshot with the step's result. */
  async xstate() {
    const g = gate();
    const names = sequenceNames(STEPS);
    const states = {};
    names.forEach((name, i) => {
      states[name] = {
        invoke: {
          src: 'agent',
          onDone: { target: names[i + 1] ?? 'done', actions: assign({ done: i }) },
        },
      };
    });
    const machine = setup({ actors: { agent: fromPromise(() => g.agent()) } }).createMachine({
      context: { done: -1 },
      initial: names[0],
      states: { ...states, done: { type: 'final' } },
    });
    const actor = createActor(machine);
    const watchers = [];
    actor.subscribe((s) => notify(watchers, s.context.done));
    actor.start();
    return drive(g, (i) => waiter(watchers, (done) => done >= i));
  },
  /** Flowstate: `run.progress$` emits a progress where the step is done (throttle 0). */
  async flowstate(engine, definition, g) {
    const run = engine.start(definition, {});
    const watchers = [];
    run.progress$.subscribe((p) => notify(watchers, p));
    const latencies = await drive(g, (i) =>
      waiter(watchers, (p) => p.steps.some((s) => s.path === `s${i}` && s.status === 'done')),
    );
    await run.result;
    return latencies;
  },
};

/** Progress: from a step's agent settling to the observer seeing the step done (snapshot-to-emission, plus the agent's settle). */
export async function progressCases({ contenders, settings }) {
  const g = gate();
  const engine = createEngine({
    agents: { gate: g.agent },
    logger: pino({ level: 'silent' }),
    progress: { throttleMs: 0 },
  });
  const b = workflow('progress');
  for (const name of sequenceNames(STEPS)) b.step(name, { agent: 'gate' });
  const definition = b.build();
  const samples = Object.fromEntries(contenders.map((c) => [c.key, []]));
  const runs = settings.progressRuns;
  for (let r = -Math.ceil(runs / 10); r < runs; r++) {
    for (const c of contenders) {
      const latencies = await runners[c.key](engine, definition, g);
      if (r >= 0) for (const l of latencies) samples[c.key].push(l * 1000);
    }
  }
  return [
    {
      id: 'progress',
      title: 'progress: agent settles → observer sees step done',
      unit: 'µs',
      better: 'lower',
      results: Object.fromEntries(contenders.map((c) => [c.key, summarize(samples[c.key])])),
    },
  ];
}
