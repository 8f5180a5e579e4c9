import { ConfigurationError } from '../model/errors.js';
import type { WorkflowStore } from '../persistence/types.js';

/**
 * `createEngine({ passivate })`: when a run that only waits is dropped from memory, and how it is woken. Each value
 * is a positive number of ms up to 2,147,483,647 (Node's largest timer delay); another is a `ConfigurationError`.
 */
export interface PassivateOptions {
  /**
   * A run whose only activity has been waiting (a `waitFor`, an escalation waiting for a decision, a backoff) for
   * this long is checkpointed and dropped from memory; its event, decision, cancel, a signal from another process or
   * its next deadline brings it back, restored like a resumed run.
   */
  readonly afterMs: number;
  /**
   * How long before a passivated run's deadline it is woken, so it is in memory (and fires on time) when the deadline
   * passes: the time to restore the runs due together. A run whose next deadline is closer than twice this stays in
   * memory. @default 1_000
   */
  readonly wakeAheadMs?: number;
  /**
   * How often the engine's one wake-up scheduler reads the store for passivated runs due soon (and signals posted by
   * processes without their definition); it also sleeps until the next due run it knows of. @default 1_000
   */
  readonly pollMs?: number;
}

/** The largest delay Node's timers keep (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_DELAY_MS = 2_147_483_647;

/** Passivation settings with their defaults applied. */
export interface PassivationSettings {
  readonly afterMs: number;
  readonly wakeAheadMs: number;
  readonly pollMs: number;
}

/** The defaults of `createEngine({ passivate })`, checked: a typed error names a bad value. */
export function passivationSettings(
  options: PassivateOptions,
  store: WorkflowStore | undefined,
): PassivationSettings {
  const positive = (name: string, value: unknown, fallback: number) => {
    const v = value ?? fallback;
    // Above Node's largest timer delay a timer fires at once: the sweeps and reads would spin.
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_DELAY_MS) {
      const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
      throw new ConfigurationError(
        `Expected passivate.${name} to be a positive number of ms, at most ${MAX_DELAY_MS} (about 24.8 days), got ${got}`,
      );
    }
    return v;
  };
  if (!store) {
    throw new ConfigurationError(
      'passivate needs a store: a passivated run lives there (createEngine({ store: sqliteStore(path), passivate }))',
    );
  }
  if (!store.listDue)
    throw new ConfigurationError(
      'passivate needs a store with listDue (sqliteStore, postgresStore, memoryStore)',
    );
  return {
    afterMs: positive('afterMs', options.afterMs, Number.NaN),
    wakeAheadMs: positive('wakeAheadMs', options.wakeAheadMs, 1_000),
    pollMs: positive('pollMs', options.pollMs, 1_000),
  };
}
