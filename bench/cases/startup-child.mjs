// Run by cases/startup.mjs in a fresh process: from import to the first 1-step workflow done, for one contender.
// Usage: node bench/cases/startup-child.mjs <contender>; prints { importToDone, sinceProcessStart, cpuImportToDone }
// in ms (the last is CPU time, user + system, all threads: steadier than wall clock on a loaded machine).
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const noop = async () => null;

const runners = {
  async plain() {
    const run = async (input) => ({ s0: await noop(input) });
    await run({});
  },
  async xstate() {
    const { createActor, fromPromise, setup, toPromise } = await import('xstate');
    const machine = setup({ actors: { agent: fromPromise(({ input }) => noop(input)) } }).createMachine({
      initial: 's0',
      states: { s0: { invoke: { src: 'agent', onDone: 'done' } }, done: { type: 'final' } },
    });
    const actor = createActor(machine);
    const done = toPromise(actor);
    actor.start();
    await done;
  },
  async flowstate() {
    const { createEngine, workflow } = await import('flowstate');
    const engine = createEngine({ agents: { noop }, logger: false });
    const definition = workflow('first').step('s0', { agent: 'noop' }).build();
    await engine.start(definition, {}).result;
  },
};

await runners[process.argv[2]]();
const t1 = performance.now();
// performance.now() counts from the process's time origin, so t1 also says how long node itself took to boot.
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  JSON.stringify({
    importToDone: t1 - t0,
    sinceProcessStart: t1,
    cpuImportToDone: (cpu.user + cpu.system) / 1000,
  }),
);
