// The workflows of the web view's browser test (test/e2e/serve.test.ts), on the built package named by
// FLOWSTATE_BUNDLE: loaded by the engine process (serve-engine.mjs) and by `flowstate serve --workflows`.
const { workflow } = await import(`${process.env.FLOWSTATE_BUNDLE}/index.js`);

/** fetch (one flaky attempt, retried), a parallel analysis, a review that escalates to a human, then ship. */
export const order = workflow('serve-order')
  .step('fetch', { retry: { attempts: 3, initialMs: 400, jitter: 0 } })
  .parallel('analyze', { lint: (b) => b.step('lint'), explain: (b) => b.step('explain') })
  .step('review', { retry: { attempts: 1 }, escalate: { to: 'human', timeoutMs: 600_000 } })
  .step('ship', { input: 'results.review' })
  .build();
