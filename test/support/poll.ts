/** Polling on real time, for tests that wait on sockets, child processes or databases (not on fake timers). */

/** Polls `check` every 10 ms until it holds or `ms` pass; returns its last answer. */
export async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const started = Date.now(); !check() && Date.now() - started < ms; )
    await new Promise((r) => setTimeout(r, 10));
  return check();
}

/** Like {@link until}, but throws when `check` still does not hold after `ms`. */
export async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  if (!(await until(check, ms))) throw new Error('condition not met in time');
}
