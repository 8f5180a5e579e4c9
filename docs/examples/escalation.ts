// A step that runs out of retries is escalated to a human, who decides with run.resolveEscalation.
import { createEngine, workflow } from 'flowstate';

const refund = workflow('refund')
  .step('charge', {
    retry: { attempts: 2, initialMs: 10 },
    escalate: { to: 'human', timeoutMs: 60_000, onTimeout: 'fail' },
  })
  .step('notify', { input: 'results.charge' })
  .build();

const engine = createEngine({
  agents: {
    charge: async () => {
      throw new Error('card declined');
    },
    notify: async (charge: { refunded: boolean; note: string }) => `customer told: ${charge.note}`,
  },
});
const run = engine.start(refund, { order: 'A-1001', amount: 42 });

// A real app would learn this from its UI or a queue; here we poll until the step waits on a human.
while (run.status === 'running') await new Promise((resolve) => setTimeout(resolve, 5));
console.log('waiting on', run.waitingSteps());

run.resolveEscalation('charge', {
  action: 'skip',
  value: { refunded: false, note: 'refund handled by phone' },
});
console.log(await run.result);
