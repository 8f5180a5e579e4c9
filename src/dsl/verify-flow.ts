/**
 * The reachability half of `verify`: an abstract run of the definition over every outcome at once. A "world"
 * is what decides the route from a point on: the results that data-path guards read (one sample output per step,
 * as `workflowPaths` derives them). Guards that read anything else (functions, registered names, the input) may
 * go either way. It walks the spec tree, the shape the compiler turns into states, so it stays linear in the
 * definition (parallel regions are analysed one by one, not interleaved) and costs microseconds, not the product
 * of every region's states that walking the machine would.
 */
import { readPath } from '../machine/refs.js';
import type { GuardRef, StepOptions, WorkflowNode, WorkflowSpec } from '../model/definition.js';
import { isDataPath } from '../model/names.js';
import type { Sample } from './outcomes.js';
import { deriveSamples } from './samples.js';
import { ROOT_PATH } from './spec-index.js';
import { liveness } from './verify-liveness.js';
import { type Fail, type Flow, key, label, MAX_WORLDS, type World } from './verify-world.js';

/**
 * Runs the analysis on a spec.
 *
 * @example
 * ```ts
 * const flow = analyzeFlow(definition.spec);
 * ```
 */
export function analyzeFlow(spec: WorkflowSpec): Flow {
  return new Analysis(spec).run();
}

class Analysis {
  readonly reached = new Map<string, readonly string[]>();
  readonly finished = new Set<string>();
  readonly failures = new Map<string, readonly string[]>();
  routes = 0;
  truncated = false;
  private readonly samples: Map<string, Sample[]>;
  /** Results some guard reads (the rest never decide a route, so worlds do not keep them). */
  private readonly watched: ReadonlySet<string>;
  private readonly order: ReadonlyMap<WorkflowNode, number>;
  private readonly lastUse: ReadonlyMap<string, number>;

  constructor(private readonly spec: WorkflowSpec) {
    this.samples = deriveSamples(spec);
    ({ order: this.order, lastUse: this.lastUse } = liveness(spec));
    this.watched = new Set(this.lastUse.keys());
  }

  run(): Flow {
    const fail: Fail = (world, label, at) => {
      this.fail([...world.route, label], at);
      return [];
    };
    const start = [{ facts: {}, route: [] }];
    // The root's path is `[]` (ROOT_PATH): the top-level nodes are its children.
    this.reach([], start);
    const out = this.sequence(this.spec.nodes, [], start, fail);
    if (out.some((w) => !w.pending)) this.finished.add(ROOT_PATH);
    const { reached, finished, failures, routes, truncated } = this;
    return { reached, finished, failures, routes, truncated };
  }

  private sequence(
    nodes: readonly WorkflowNode[],
    path: readonly string[],
    worlds: World[],
    fail: Fail,
  ): World[] {
    let active = worlds.filter((w) => !w.pending);
    const skipped = worlds.filter((w) => w.pending);
    for (const node of nodes) {
      if (active.length === 0) break;
      active = this.prune(active, this.order.get(node) ?? 0);
      const here = [...path, node.name];
      this.reach(here, active);
      const out = this.node(node, here, active, fail);
      active = out.filter((w) => !w.pending);
      skipped.push(...out.filter((w) => w.pending));
    }
    return this.unique([...active, ...skipped]);
  }

  private node(node: WorkflowNode, path: readonly string[], worlds: World[], fail: Fail): World[] {
    switch (node.kind) {
      case 'step':
        return worlds.flatMap((w) => this.step(node.name, node.options, path, w, fail, 'step'));
      case 'map':
        return worlds.flatMap((w) => this.step(node.name, node.step, path, w, fail, 'map'));
      case 'wait':
        return worlds.flatMap((w) => [
          ...this.samplesOf(node.name).map((s, i, all) =>
            this.set(w, node.name, s.output, `${node.name} received${label(all, i)}`),
          ),
          ...(node.onTimeout === 'skip'
            ? [this.set(w, node.name, null, `${node.name} expired`)]
            : fail(w, `${node.name} expired`, path)),
        ]);
      case 'branch':
        return this.branch(node, path, worlds, fail);
      case 'loop':
        return this.loop(node, path, worlds, fail);
      case 'parallel':
        return this.parallel(node, path, worlds, fail);
    }
  }

  /** A step, a map (its items succeed or one fails) or a child workflow: done with each sample, or an error. */
  private step(
    name: string,
    options: StepOptions,
    path: readonly string[],
    w: World,
    fail: Fail,
    kind: 'step' | 'map',
  ): World[] {
    const value = (output: unknown) => (kind === 'map' ? [output, output] : output);
    const samples = this.watched.has(name)
      ? this.samplesOf(name)
      : (this.samplesOf(name).slice(0, 1) as Sample[]);
    const out = samples.map((s, i) => this.set(w, name, value(s.output), `${name} done${label(samples, i)}`));
    if (options.escalate) out.push(this.set(w, name, value(null), `${name} escalated: skip`));
    const onError = options.onError ?? this.spec.options.onError ?? 'fail';
    if (onError === 'skip') out.push(this.set(w, name, value(null), `${name} error (skipped)`));
    else out.push(...fail(w, `${name} error`, path));
    return out;
  }

  private branch(
    node: Extract<WorkflowNode, { kind: 'branch' }>,
    path: readonly string[],
    worlds: World[],
    fail: Fail,
  ) {
    const byArm = new Map<string, World[]>();
    for (const w of worlds) {
      let decided = false;
      for (const [i, arm] of node.arms.entries()) {
        const value = this.guard(arm.when, w);
        if (value !== false) byArm.set(`when${i}`, [...(byArm.get(`when${i}`) ?? []), w]);
        if (value === true) {
          decided = true;
          break;
        }
      }
      if (!decided) byArm.set('otherwise', [...(byArm.get('otherwise') ?? []), w]);
    }
    const out: World[] = [];
    for (const [key, list] of byArm) {
      const armPath = [...path, key];
      const entered = list.map((w) => ({ ...w, route: [...w.route, `${node.name}: ${key}`] }));
      this.reach(armPath, entered);
      const nodes =
        key === 'otherwise' ? (node.otherwise ?? []) : (node.arms[Number(key.slice(4))]?.nodes ?? []);
      const done = this.sequence(nodes, armPath, entered, fail);
      if (done.some((w) => !w.pending)) this.finished.add(armPath.join('.'));
      out.push(...done);
    }
    if (out.some((w) => !w.pending)) this.finished.add(path.join('.'));
    return this.unique(out);
  }

  private loop(
    node: Extract<WorkflowNode, { kind: 'loop' }>,
    path: readonly string[],
    worlds: World[],
    fail: Fail,
  ) {
    const roundPath = [...path, 'round'];
    const exits: World[] = [];
    const seen = new Set<string>();
    const exhausted = (w: World) => {
      const at = `${node.name}: exhausted`;
      if (node.onMaxIterations === 'continue') exits.push({ ...w, route: [...w.route, at] });
      else fail(w, at, path);
    };
    let input = worlds;
    for (let round = 1; round <= node.maxIterations && input.length > 0; round++) {
      const entered =
        round === 1
          ? input
          : input.map((w) => ({ ...w, route: [...w.route, `${node.name}: round ${round}`] }));
      this.reach(roundPath, entered);
      for (const w of input) seen.add(key(w));
      const out = this.sequence(node.body, roundPath, entered, fail);
      exits.push(...out.filter((w) => w.pending));
      const next: World[] = [];
      for (const w of out.filter((x) => !x.pending)) {
        this.finished.add(roundPath.join('.'));
        const value = this.guard(node.until, w);
        if (value !== false) exits.push(w);
        if (value === true) continue;
        if (round >= node.maxIterations) exhausted(w);
        else next.push(w);
      }
      input = this.unique(next);
      // Worlds seen at a round start before repeat the same rounds until the bound: they end exhausted.
      if (input.length > 0 && input.every((w) => seen.has(key(w)))) {
        const rest = `${node.name}: rounds ${round + 1}-${node.maxIterations} the same`;
        const more = round + 1 < node.maxIterations ? rest : `${node.name}: round ${round + 1}`;
        for (const w of input) exhausted({ ...w, route: [...w.route, more] });
        break;
      }
    }
    if (exits.some((w) => !w.pending)) this.finished.add(path.join('.'));
    return this.unique(exits);
  }

  private parallel(
    node: Extract<WorkflowNode, { kind: 'parallel' }>,
    path: readonly string[],
    worlds: World[],
    fail: Fail,
  ): World[] {
    const out: World[] = [];
    for (const w of worlds) {
      // Regions start from the same world and finish independently; the join combines their results.
      let joined: World[] = [{ ...w }];
      for (const [region, nodes] of Object.entries(node.regions)) {
        const regionPath = [...path, region];
        const regionFail: Fail = node.failFast
          ? fail
          : (f, at, where) => {
              this.fail([...f.route, at], where, regionPath.length);
              return [{ ...f, route: [...f.route, at], pending: true }];
            };
        this.reach(regionPath, [w]);
        const ends = this.sequence(nodes, regionPath, [w], regionFail);
        if (ends.length > 0) this.finished.add(regionPath.join('.'));
        joined = this.unique(
          joined.flatMap((j) =>
            ends.map((e) => ({
              facts: { ...j.facts, ...e.facts },
              route: [...j.route, ...e.route.slice(w.route.length)],
              ...(j.pending || e.pending ? { pending: true } : {}),
            })),
          ),
        );
      }
      for (const j of joined) {
        if (!j.pending) out.push(j);
        else out.push(...fail({ ...j, pending: false }, `${node.name}: a region failed`, path));
      }
    }
    if (out.length > 0) this.finished.add(path.join('.'));
    return this.unique(out);
  }

  /** A guard's value in a world: `true`/`false` for a data path on results, `'either'` for anything else. */
  private guard(ref: GuardRef, w: World): boolean | 'either' {
    if (typeof ref === 'string' && isDataPath(ref) && ref.startsWith('results.'))
      return Boolean(readPath({ results: w.facts }, ref));
    return 'either';
  }

  /** Forgets results no guard at or after `at` reads, so worlds that differ only in them merge. */
  private prune(worlds: World[], at: number): World[] {
    const live = (step: string) => (this.lastUse.get(step) ?? -1) >= at;
    if (worlds.every((w) => Object.keys(w.facts).every(live))) return worlds;
    return this.unique(
      worlds.map((w) => ({
        ...w,
        facts: Object.fromEntries(Object.entries(w.facts).filter(([k]) => live(k))),
      })),
    );
  }

  private set(w: World, name: string, value: unknown, step: string): World {
    const facts = this.watched.has(name) ? { ...w.facts, [name]: value } : w.facts;
    return { ...w, facts, route: [...w.route, step] };
  }

  /**
   * Records a failure in every container around `at` (up to `below` segments: a region's failure stays inside).
   * A route that fails by design (a bound, a deadline) explains more than an agent error: it replaces one.
   */
  private fail(route: readonly string[], at: readonly string[], below = 0): void {
    const byError = route.at(-1)?.endsWith(' error') === true;
    // n = 0 is the root (ROOT_PATH), a container of every state; a region's failure (below > 0) stays inside.
    for (let n = at.length; n > below || (below === 0 && n === 0); n--) {
      const container = at.slice(0, n).join('.');
      const known = this.failures.get(container);
      if (!known || (!byError && known.at(-2)?.endsWith(' error')))
        this.failures.set(container, [...route, 'failed']);
    }
  }

  private reach(path: readonly string[], worlds: readonly World[]): void {
    const first = worlds[0];
    if (first && !this.reached.has(path.join('.'))) this.reached.set(path.join('.'), first.route);
  }

  private samplesOf(name: string): Sample[] {
    return this.samples.get(name) ?? [{ output: {} }];
  }

  private unique(worlds: World[]): World[] {
    const byKey = new Map<string, World>();
    for (const w of worlds) if (!byKey.has(key(w))) byKey.set(key(w), w);
    this.routes += byKey.size;
    const list = [...byKey.values()];
    if (list.length <= MAX_WORLDS) return list;
    this.truncated = true;
    return list.slice(0, MAX_WORLDS);
  }
}
