// CPU time per step of the same raw XState 100-step sequence written flat (steps are the root's children) and nested
// (steps inside a `running` compound state beside compensating/done/failed/compensated/cancelled, under a root that
// handles a cancel event): the shape cost Flowstate's compiled machine paid before issue 17. Interleaved blocks, one
// process, CPU time (user + system):
//   node bench/profile/nesting-ab.mjs [seconds per side] [steps]
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';

const [secondsArg = '3', stepsArg = '100'] = process.argv.slice(2);
const STEPS = Number(stepsArg);
const noop = async () => null;
const machines = setup({ actors: { agent: fromPromise(({ input }) => noop(input)) } });
const names = Array.from({ length: STEPS }, (_, i) => `s${i}`);
const store = (name) =>
  assign({ results: ({ context, event }) => ({ ...context.results, [name]: event.output }) });
const steps = (end, failed) => {
  const states = {};
  names.forEach((name, i) => {
    states[name] = {
      invoke: {
        src: 'agent',
        input: ({ context }) => context.input,
        onDone: { target: names[i + 1] ?? end, actions: store(name) },
        onError: failed,
      },
    };
  });
  return states;
};
const finals = { failed: { type: 'final' }, compensated: { type: 'final' }, cancelled: { type: 'final' } };
const common = {
  id: 'bench',
  context: ({ input }) => ({ input: input.input, results: {} }),
  output: ({ context }) => context.results,
  on: { cancel: { target: '.cancelled' } },
};
const flat = machines.createMachine({
  ...common,
  initial: names[0],
  states: { ...steps('done', '#bench.failed'), compensating: {}, done: { type: 'final' }, ...finals },
});
const nested = machines.createMachine({
  ...common,
  initial: 'running',
  states: {
    running: {
      initial: names[0],
      states: { ...steps('__end', '#bench.failed'), __end: { type: 'final' } },
      onDone: 'done',
    },
    compensating: {},
    done: { type: 'final' },
    ...finals,
  },
});
const start = (machine) => {
  const actor = createActor(machine, { input: { input: { table: 'orders' } } });
  const done = toPromise(actor);
  actor.start();
  return done;
};
const sides = [
  { key: 'flat', machine: flat, cpu: 0, runs: 0 },
  { key: 'nested', machine: nested, cpu: 0, runs: 0 },
];
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
for (const s of sides) for (let i = 0; i < 20; i++) await start(s.machine);
const budget = Number(secondsArg) * 1e6;
while (sides.some((s) => s.cpu < budget)) {
  for (const s of sides) {
    const t0 = cpuNow();
    for (let i = 0; i < 20; i++) await start(s.machine);
    s.cpu += cpuNow() - t0;
    s.runs += 20;
  }
}
const per = (s) => s.cpu / s.runs / STEPS;
const [a, b] = sides;
console.log(
  `${STEPS} steps: flat ${per(a).toFixed(2)} µs CPU/step, nested ${per(b).toFixed(2)}, nested/flat ${(per(b) / per(a)).toFixed(3)} (load ${(await import('node:os')).loadavg()[0].toFixed(2)})`,
);
process.exit(0);
