/**
 * `createEngine({ metrics, tracing })`: both are fed by one more inspection observer (the engine's own `inspect`
 * hook) and by a store wrapper that times writes and counts lease takeovers, so no engine internals change.
 */
import type { InspectionEvent } from 'xstate';
import { combineInspection } from '../observability/inspect.js';
import { type EngineMetrics, engineMetrics } from '../observability/metrics.js';
import { type RunEvents, runObserver } from '../observability/run-observer.js';
import { engineTracing } from '../observability/tracing.js';
import type { WorkflowStore } from '../persistence/types.js';
import type { EngineOptions } from './engine-types.js';

/**
 * The options as the engine uses them: unchanged without `metrics` and `tracing`; else with an observer added to
 * `inspect` and (with metrics) the store wrapped.
 *
 * @example
 * ```ts
 * const options = instrumented({ agents, metrics: { registry } });
 * ```
 */
export function instrumented(options: EngineOptions): EngineOptions {
  if (!options.metrics && !options.tracing) return options;
  const listeners: RunEvents[] = [];
  const observer = runObserver(fanOut(listeners));
  const metrics: EngineMetrics | undefined = options.metrics
    ? engineMetrics(options.metrics, observer.live)
    : undefined;
  if (metrics) listeners.push(metrics);
  if (options.tracing) listeners.push(engineTracing(options.tracing));
  const inspect = combineInspection(options.inspect, observer.inspect) as (event: InspectionEvent) => void;
  return {
    ...options,
    inspect,
    ...(options.store && metrics ? { store: timedStore(options.store, metrics) } : {}),
  };
}

/** Calls every listener in turn. */
function fanOut(listeners: readonly RunEvents[]): RunEvents {
  return {
    runStarted: (...a) => {
      for (const l of listeners) l.runStarted?.(...a);
    },
    runEnded: (...a) => {
      for (const l of listeners) l.runEnded?.(...a);
    },
    attemptStarted: (...a) => {
      for (const l of listeners) l.attemptStarted?.(...a);
    },
    attemptEnded: (...a) => {
      for (const l of listeners) l.attemptEnded?.(...a);
    },
  };
}

/**
 * The store with its batch writes timed and its lease takeovers counted: an `acquire` that takes a run at an epoch
 * past 1 takes it from a previous owner (expired, released, or this engine's own earlier incarnation).
 */
function timedStore(store: WorkflowStore, metrics: EngineMetrics): WorkflowStore {
  const wrapped = Object.create(store) as WorkflowStore;
  return Object.assign(wrapped, {
    async write(batch: Parameters<WorkflowStore['write']>[0]) {
      const started = performance.now();
      try {
        const result = await store.write(batch);
        metrics.storeWrite((performance.now() - started) / 1000, true);
        return result;
      } catch (error) {
        metrics.storeWrite((performance.now() - started) / 1000, false);
        throw error;
      }
    },
    async acquire(...args: Parameters<WorkflowStore['acquire']>) {
      const lease = await store.acquire(...args);
      if (lease && lease.epoch > 1) metrics.leaseTakeover();
      return lease;
    },
  });
}
