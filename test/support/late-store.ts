import type { WorkflowStore } from '../../src/index.js';

/** How late a {@link lateStore} answers. */
export interface Lateness {
  /** The share of calls held, before the real call and (apart) after it. */
  readonly share: number;
  /** The longest a call is held, each time (ms). */
  readonly maxMs: number;
}

/**
 * A store whose calls reach it late and whose answers come back late, at random: what a busy pool or a slow network
 * does to writes, releases, acquires, renewals and inbox reads made on different connections, landing in orders an
 * idle test never sees. A call held after it ran has already committed: its caller only learns it later.
 */
export function lateStore(store: WorkflowStore, { share, maxMs }: Lateness): WorkflowStore {
  const hold = () =>
    Math.random() < share ? new Promise((r) => setTimeout(r, Math.random() * maxMs)) : undefined;
  const wrapped = new Map<PropertyKey, unknown>();
  // A proxy, so a store whose methods live on its prototype (a class) is held as well as one of own functions.
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      // `listen` hands notifications over as they come; `close` must not outlive the test.
      if (typeof value !== 'function' || name === 'listen' || name === 'close') return value;
      let late = wrapped.get(name);
      if (!late) {
        late = async (...args: unknown[]) => {
          await hold();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            await hold();
          }
        };
        wrapped.set(name, late);
      }
      return late;
    },
  });
}
