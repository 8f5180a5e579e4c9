// What survives a scavenge in small XState and WeakMap loops, without Flowstate: the probes of the ninth session's
// GC findings (bench/findings.md). Runs each probe in a child process under `--trace-gc-nvp` and prints the mean of
// V8's `new_space_survived` over its last 20 scavenges (of a 16 MB young generation; dead objects cost nothing there,
// what survives is copied and, promoted, waits for a full collection).
//   node bench/profile/young-survival.mjs [probe...] [--flags=--no-allocation-site-pretenuring]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const probes = {
  /** Child actors created with a parent (what every spawn does), dropped at once. */
  async 'child-with-parent'({ createActor, createMachine, fromTransition }) {
    const logic = fromTransition((s) => s, 0);
    let root = createActor(createMachine({}));
    for (let i = 0; i < 300_000; i++) {
      if (i % 10 === 0) root = createActor(createMachine({}));
      createActor(logic, { parent: root });
      if (i % 100 === 0) await null;
    }
  },
  /** The same actors without a parent. */
  async 'child-without-parent'({ createActor, fromTransition }) {
    const logic = fromTransition((s) => s, 0);
    for (let i = 0; i < 300_000; i++) {
      createActor(logic);
      if (i % 100 === 0) await null;
    }
  },
  /** 10-state machines that spawn and stop a child per state. */
  async 'machine-spawning'(xstate) {
    await runMachines(xstate, true);
  },
  /** 10-state machines that only raise events. */
  async 'machine-raising'(xstate) {
    await runMachines(xstate, false);
  },
  /** A long-lived WeakMap given an entry per short-lived key, never deleted. */
  async 'weakmap-old'() {
    const map = new WeakMap();
    for (let i = 0; i < 3_000_000; i++) {
      const key = { a: [i], b: new Map() };
      map.set(key, { value: i });
      if (i % 100 === 0) await null;
    }
  },
};

async function runMachines({ createActor, fromTransition, raise, setup, toPromise }, spawning) {
  const states = {};
  for (let i = 0; i < 10; i++) {
    states[`s${i}`] = {
      ...(spawning ? { invoke: { src: 'child' } } : {}),
      entry: raise({ type: 'next' }),
      on: { next: i < 9 ? `s${i + 1}` : 'done' },
    };
  }
  const machine = setup({ actors: { child: fromTransition((s) => s, 0) } }).createMachine({
    initial: 's0',
    states: { ...states, done: { type: 'final' } },
  });
  for (let i = 0; i < 30_000; i++) {
    const actor = createActor(machine);
    const done = toPromise(actor);
    actor.start();
    await done;
  }
}

const [probe] = process.argv.slice(2);
if (process.env.YOUNG_SURVIVAL_CHILD) {
  await probes[probe](await import('xstate'));
} else {
  const flags =
    process.argv
      .find((a) => a.startsWith('--flags='))
      ?.slice(8)
      .split(' ') ?? [];
  const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const name of names.length ? names : Object.keys(probes)) {
    const out = execFileSync(
      process.execPath,
      [...flags, '--trace-gc-nvp', fileURLToPath(import.meta.url), name],
      {
        encoding: 'utf8',
        env: { ...process.env, YOUNG_SURVIVAL_CHILD: '1' },
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const survived = out
      .split('\n')
      .filter((line) => line.includes('gc=s '))
      .slice(-20)
      .map((line) => Number(/ new_space_survived=(\d+)/.exec(line)?.[1] ?? 0));
    const mean = survived.reduce((a, b) => a + b, 0) / Math.max(1, survived.length) / 1024;
    console.log(
      `${name.padEnd(22)} ${mean.toFixed(0).padStart(6)} KB survive a scavenge (${flags.join(' ') || 'default flags'})`,
    );
  }
}
