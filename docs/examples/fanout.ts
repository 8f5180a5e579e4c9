// Fan out: two searches run in parallel, then a map summarizes every hit, two at a time.
import { type AgentRegistry, createEngine, workflow } from 'flowstate';
import { z } from 'zod';

const pause = (ms: number, signal: AbortSignal) =>
  new Promise((resolve) => setTimeout(resolve, ms)).then(() => signal.throwIfAborted());

const agents = {
  searchWeb: async ({ topic }: { topic: string }) => [`${topic} on the web`, `${topic} forum thread`],
  searchPapers: async ({ topic }: { topic: string }) => [`${topic}: a survey`],
  summarize: async (hit: string, { signal }) => {
    await pause(10, signal);
    return `summary of "${hit}"`;
  },
} satisfies AgentRegistry;

// .agents<typeof agents>() types each step's result as its agent's output: ctx.results.searchWeb is a string[].
const research = workflow('research', {
  input: z.object({ topic: z.string() }),
  result: (ctx) => ({ topic: ctx.input.topic, summaries: ctx.results.summarize }),
})
  .agents<typeof agents>()
  .parallel('search', {
    web: (b) => b.step('searchWeb'),
    papers: (b) => b.step('searchPapers'),
  })
  .map('summarize', {
    items: (ctx) => [...ctx.results.searchWeb, ...ctx.results.searchPapers],
    step: { agent: 'summarize', retry: { attempts: 2, initialMs: 10 } },
    concurrency: 2,
  })
  .build();

const output = await createEngine({ agents }).start(research, { topic: 'statecharts' }).result;
console.log(output);
