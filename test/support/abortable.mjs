// Waiting that an agent's signal cuts short, for the agents of the worker processes (bullmq-agents.mjs,
// crash-workflow.mjs). Plain JavaScript: the workers load it from the built CLI without a build of their own.

/** Waits `ms`, or rejects with the signal's reason when it fires first. */
export const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
