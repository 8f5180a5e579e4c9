/**
 * Prometheus metrics of an engine (prom-client), registered in the user's registry by
 * `createEngine({ metrics: { registry } })`. prom-client is loaded only then: an engine without metrics never
 * imports it.
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { activeWaits, actorTree, isStepSnapshot } from '../machine/actor-tree.js';
import type { RunEvents, runObserver } from './run-observer.js';

/** The `metrics` option of `createEngine`. */
export interface MetricsOptions {
  /** The prom-client registry to register in (yours, or `register`, prom-client's global one). */
  readonly registry: Registry;
  /** Put before every metric name. @default 'flowstate_' */
  readonly prefix?: string;
}

/** What the engine reports besides the run events: store writes and lease takeovers. */
export interface EngineMetrics extends RunEvents {
  storeWrite(seconds: number, ok: boolean): void;
  leaseTakeover(): void;
}

/** A map item's index is not a label value worth a time series: `check[3]` counts as `check[*]`. */
const stepLabel = (path: string) => path.replace(/\[\d+\]/g, '[*]');

/**
 * Creates the engine's metrics in `registry`. `live` lists the runs in flight, read at scrape time for the gauges
 * (active runs, parked runs, escalations waiting), so no gauge drifts when a run is stopped unobserved.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * createEngine({ agents, metrics: { registry } });
 * app.get('/metrics', async () => registry.metrics());
 * ```
 */
export function engineMetrics(
  options: MetricsOptions,
  live: ReturnType<typeof runObserver>['live'],
): EngineMetrics {
  const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const registers = [options.registry];
  const name = (n: string) => `${options.prefix ?? 'flowstate_'}${n}`;
  // One engine per registry is the usual case; a second engine on the same registry shares the first's metrics.
  const metric = <T>(n: string, make: () => T): T =>
    (options.registry.getSingleMetric(name(n)) as T | undefined) ?? make();
  const started = metric(
    'runs_started_total',
    () =>
      new prom.Counter({
        name: name('runs_started_total'),
        help: 'Runs started or resumed by this engine',
        labelNames: ['workflow'],
        registers,
      }),
  );
  const ended = metric(
    'runs_ended_total',
    () =>
      new prom.Counter({
        name: name('runs_ended_total'),
        help: 'Runs ended, by final status (done, failed, compensated, cancelled)',
        labelNames: ['workflow', 'status'],
        registers,
      }),
  );
  const steps = metric(
    'step_duration_seconds',
    () =>
      new prom.Histogram({
        name: name('step_duration_seconds'),
        help: 'Duration of step attempts (one agent call each), by outcome (ok, error, stopped)',
        labelNames: ['workflow', 'step', 'outcome'],
        buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120, 600],
        registers,
      }),
  );
  const retries = metric(
    'step_retries_total',
    () =>
      new prom.Counter({
        name: name('step_retries_total'),
        help: 'Step attempts after the first (retries and fallbacks)',
        labelNames: ['workflow', 'step'],
        registers,
      }),
  );
  const writes = metric(
    'store_write_seconds',
    () =>
      new prom.Histogram({
        name: name('store_write_seconds'),
        help: 'Latency of store batch writes (a group commit each)',
        labelNames: ['result'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers,
      }),
  );
  const takeovers = metric(
    'lease_takeovers_total',
    () =>
      new prom.Counter({
        name: name('lease_takeovers_total'),
        help: 'Runs this engine took over (an expired or released lease: recover, adoption, resume)',
        registers,
      }),
  );
  const gauge = (n: string, help: string, read: () => Map<string, number>) =>
    metric(
      n,
      () =>
        new prom.Gauge({
          name: name(n),
          help,
          labelNames: ['workflow'],
          registers,
          collect() {
            this.reset();
            for (const [workflow, value] of read()) this.set({ workflow }, value);
          },
        }),
    );
  const count = (pick: (waiting: number) => number) => () => {
    const by = new Map<string, number>();
    for (const run of live()) by.set(run.workflow, (by.get(run.workflow) ?? 0) + pick(waitingIn(run.root)));
    return by;
  };
  gauge(
    'runs_active',
    'Runs in flight in this engine',
    count(() => 1),
  );
  gauge(
    'runs_parked',
    'Runs in flight waiting on a human (an escalation or a waitFor)',
    count((w) => (w > 0 ? 1 : 0)),
  );
  gauge('escalations_waiting', 'Escalated steps waiting for a decision', () => {
    const by = new Map<string, number>();
    for (const run of live()) by.set(run.workflow, (by.get(run.workflow) ?? 0) + escalatedIn(run.root));
    return by;
  });
  return {
    runStarted: (run) => started.inc({ workflow: run.workflow }),
    runEnded: (run, status) => {
      if (status !== undefined) ended.inc({ workflow: run.workflow, status });
    },
    attemptStarted: ({ run, path, record }) => {
      if (record.attempt > 1) retries.inc({ workflow: run.workflow, step: stepLabel(path) });
    },
    attemptEnded: ({ run, path, record }, stopped) => {
      const outcome = stopped ? 'stopped' : record.error ? 'error' : 'ok';
      const seconds = Math.max(0, ((record.endedAt ?? Date.now()) - record.startedAt) / 1000);
      steps.observe({ workflow: run.workflow, step: stepLabel(path), outcome }, seconds);
    },
    storeWrite: (seconds, ok) => writes.observe({ result: ok ? 'ok' : 'error' }, seconds),
    leaseTakeover: () => takeovers.inc(),
  };
}

/** Steps of a run waiting on a human now: escalated steps and `waitFor`s. */
function waitingIn(root: Parameters<typeof actorTree>[0]): number {
  return escalatedIn(root) + activeWaits(root).length;
}

function escalatedIn(root: Parameters<typeof actorTree>[0]): number {
  let n = 0;
  for (const actor of actorTree(root)) {
    const s = actor.getSnapshot();
    if (isStepSnapshot(s) && s.status === 'active' && s.phase === 'escalated') n++;
  }
  return n;
}
