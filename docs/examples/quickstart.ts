import { createEngine, workflow } from 'flowstate';
import { z } from 'zod';

const hello = workflow('hello', { input: z.object({ name: z.string() }) })
  .step('lookup', { retry: { attempts: 3, initialMs: 50 }, timeoutMs: 5_000 })
  .step('greet', { input: 'results.lookup' })
  .build();

const agents = {
  lookup: async ({ name }: { name: string }) => ({ name, title: 'Countess' }),
  greet: async ({ name, title }: { name: string; title: string }) => `Hello, ${title} ${name}!`,
};
const run = createEngine({ agents }).start(hello, { name: 'Ada' });
console.log(await run.result);
