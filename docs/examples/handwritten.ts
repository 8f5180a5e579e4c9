import { agentActor, createEngine, verify } from 'flowstate';
import { workflowPaths } from 'flowstate/testing';
import { assign, fromPromise, setup } from 'xstate';

// A hand-written machine: `lookup` stands for the agent of that name (a step: retries, timeout, journal);
// `greet` is the machine's own actor and runs as it is.
const hello = setup({
  // `output` types what the run resolves with: `run.result` is a `Promise<string>` below, not `unknown`.
  types: {} as {
    input: { name: string };
    context: { name: string; title?: string; greeting?: string };
    output: string;
  },
  actors: {
    lookup: agentActor<{ name: string }, { title: string }>(),
    greet: fromPromise(
      async ({ input }: { input: { name: string; title?: string } }) =>
        `Hello, ${input.title} ${input.name}!`,
    ),
  },
}).createMachine({
  id: 'hello-machine',
  context: ({ input }) => ({ name: input.name }),
  initial: 'lookup',
  states: {
    lookup: {
      meta: { flowstate: { retry: { attempts: 3, initialMs: 50 }, timeoutMs: 5_000, expectedMs: 200 } },
      invoke: {
        src: 'lookup',
        input: ({ context }) => ({ name: context.name }),
        onDone: { target: 'greet', actions: assign({ title: ({ event }) => event.output.title }) },
        onError: 'unknown',
      },
    },
    greet: {
      invoke: {
        src: 'greet',
        input: ({ context }) => ({ name: context.name, title: context.title }),
        onDone: { target: 'done', actions: assign({ greeting: ({ event }) => event.output }) },
      },
    },
    unknown: { type: 'final', entry: assign({ greeting: ({ context }) => `Hello, ${context.name}!` }) },
    done: { type: 'final' },
  },
  output: ({ context }) => context.greeting ?? '', // both final states set it
});

let calls = 0;
const agents = {
  lookup: async ({ name }: { name: string }) => {
    calls++;
    if (calls === 1) throw new Error('directory busy'); // the retry takes it
    return { title: name === 'Ada' ? 'Countess' : 'Dr.' };
  },
};
// Checks and test paths walk the machine with sample outputs of its invokes (its actions read `event.output`).
const outputs = { lookup: [{ title: 'Countess' }], greet: ['Hello, Countess Ada!'] };
console.log(verify(hello, { input: { name: 'Ada' }, outputs }).ok);
console.log(workflowPaths(hello, { input: { name: 'Ada' }, outputs }).map((p) => p.name));
const run = createEngine({ agents }).start(hello, { name: 'Ada' });
const greeting: string = await run.result;
console.log(greeting);
