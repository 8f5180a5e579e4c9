/** What `/metrics` of `flowstate serve` exposes. */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { RunStatus, WorkflowStore } from '../../persistence/types.js';

const STATUSES: readonly RunStatus[] = ['running', 'waiting', 'done', 'failed', 'cancelled', 'compensated'];

/**
 * The server's registry: Node's process metrics and the store's runs by status (counted at scrape time). Engines
 * expose their own metrics (`createEngine({ metrics })`) from their processes.
 *
 * @example
 * ```ts
 * const registry = serveRegistry(store); // await registry.metrics()
 * ```
 */
export function serveRegistry(store: WorkflowStore): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'flowstate_serve_' });
  new Gauge({
    name: 'flowstate_store_runs',
    help: 'Runs in the store, by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!store.countRuns) return;
      const counts = await Promise.all(STATUSES.map((status) => store.countRuns?.({ status }) ?? 0));
      for (const [i, status] of STATUSES.entries()) this.set({ status }, counts[i] ?? 0);
    },
  });
  return registry;
}
