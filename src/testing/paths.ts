/**
 * `workflowPaths`: the test paths of a workflow, found by walking its compiled machine with the XState graph
 * utilities (`xstate/graph`), with agent outcomes as events, so failure routes are paths too.
 */
import type { AnyEventObject, AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { handwrittenMachineOf, isStateMachine } from '../dsl/handwritten.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import type { AnyWorkflowDefinition, WorkflowContext } from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';
import { isDataPath } from '../model/names.js';
import { parseWith } from '../model/validation.js';
import { explore, type StateGraph } from './graph.js';
import { distancesTo, shortestSuffix } from './graph-search.js';
import { WorkflowModel } from './model.js';
import { machinePaths, walkMachine } from './paths-handwritten.js';
import { nameOf, type Replayed, replay, type WorkflowPath } from './replay.js';

export type { PathEnd, PathStep, WorkflowPath } from './replay.js';

/**
 * Options of {@link workflowPaths}.
 *
 * @example
 * ```ts
 * workflowPaths(definition, { input: { tables: ['orders'] }, outputs: { score: [{ value: 10 }] } });
 * ```
 */
export interface WorkflowPathsOptions {
  /**
   * `shortest`: one shortest path to every distinct end, then more until every outcome of every step and every
   * state is on some path. `simple`: every path that never repeats a state (bounded by `maxPaths`), then the same
   * coverage. @default 'shortest'
   */
  readonly strategy?: 'shortest' | 'simple';
  /** The workflow input every path starts with (validated by the input schema). @default {} */
  readonly input?: unknown;
  /**
   * Several workflow inputs, each walked as `input` would be (each validated by the input schema): for guards
   * that read the input (`when: (ctx) => ctx.input.urgent`), which no sample output can change. The first input's
   * paths are those `input` would give; a later input adds the paths that reach an end, a state or an outcome no
   * earlier path does. With more than one, each path's name starts with its input (`input {"urgent":true}: ...`,
   * or `input 2: ...` for a long one). Give `input` or `inputs`, not both.
   */
  readonly inputs?: readonly unknown[];
  /**
   * Sample results by step, map (per item) or waitFor (payloads) name; each is a separate `done` outcome. Give
   * samples that make your function guards true and false. @default derived from the data paths guards read
   */
  readonly outputs?: Readonly<Record<string, readonly unknown[]>>;
  /** Guards the engine registers by name (as in `createEngine({ guards })`). */
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>>;
  /** Mappings the engine registers by name. */
  // biome-ignore lint/suspicious/noExplicitAny: as above
  readonly mappings?: Readonly<Record<string, (ctx: WorkflowContext<any>) => unknown>>;
  /** Replaces the derived outcome events: each is offered in every state. */
  readonly events?: readonly AnyEventObject[];
  /** At most this many states are walked. @default 20000 */
  readonly limit?: number;
  /** At most this many paths (`simple`). @default 500 */
  readonly maxPaths?: number;
  /** Return the paths even when some step or outcome is on none of them (else that throws). @default false */
  readonly allowUncovered?: boolean;
}

/**
 * Every test path of a workflow: shortest (or, bounded, simple) paths from its start to each end, plus paths
 * until every modelled outcome (success, error, timeout, retry, fallback, each escalation decision, each wait's
 * event and deadline, each compensation) and every state is covered. Paths are plain JSON, named readably.
 * Throws a `ConfigurationError` when a state or outcome stays uncovered (give `outputs` that reach it). A
 * hand-written XState machine gets paths over its states and the outcomes (done, error) of its invokes, keyed in
 * `outputs` by step name, `src` or invoke id (see docs/handwritten.md).
 *
 * @example
 * ```ts
 * const paths = workflowPaths(review, { outputs: { scan: [{ critical: true }, { critical: false }] } });
 * paths.map((p) => p.name); // ['scan done #1 -> triage: when0 -> review done', ...]
 * ```
 */
export function workflowPaths(
  definition: AnyWorkflowDefinition | AnyStateMachine,
  options: WorkflowPathsOptions = {},
): WorkflowPath[] {
  const inputs = inputsOf(definition, options);
  // A hand-written machine has no spec: its own state space, with its invokes' outcomes as events, is walked.
  const machine = isStateMachine(definition) ? definition : handwrittenMachineOf(definition);
  if (machine) {
    if (inputs.length === 1) return machinePaths(machine, { ...options, input: inputs[0] });
    return machinePathsOver(machine, inputs, options);
  }
  const covered: Covered = { tried: new Set(), outcomes: new Set(), visited: new Set(), ends: new Set() };
  const walks = inputs.map((input, i) =>
    walk(
      definition as AnyWorkflowDefinition,
      validInput(definition as AnyWorkflowDefinition, input, i, inputs.length),
      options,
      covered,
      i === 0,
    ),
  );
  if (!options.allowUncovered) assertCovered(walks, covered);
  const labels = inputLabels(inputs);
  const names = new Map<string, number>();
  return walks.flatMap(({ paths }, i) =>
    paths.map(({ path }) => {
      const base = inputs.length > 1 ? `input ${labels[i]}: ${nameOf(path)}` : nameOf(path);
      const seen = (names.get(base) ?? 0) + 1;
      names.set(base, seen);
      const name = seen === 1 ? base : `${base} (${seen})`;
      return {
        name,
        workflow: definition.id,
        version: (definition as AnyWorkflowDefinition).version,
        ...path,
      };
    }),
  );
}

/** What the paths so far cover, across inputs: outcomes offered a path, outcomes and states on one, ends reached. */
interface Covered {
  /** Outcomes a coverage path was made for (whether or not it changed the workflow). */
  readonly tried: Set<string>;
  readonly outcomes: Set<string>;
  readonly visited: Set<string>;
  readonly ends: Set<string>;
}

/** One input's walk: its model, its explored graph and the paths chosen on it. */
interface Walk {
  readonly model: WorkflowModel;
  readonly graph: StateGraph;
  readonly paths: Replayed[];
}

/**
 * Walks the definition from one input and chooses its paths: every end (the first input; a later one, the ends,
 * states and outcomes no earlier path has), then a path through every outcome and every state not yet covered.
 */
function walk(
  definition: AnyWorkflowDefinition,
  input: unknown,
  options: WorkflowPathsOptions,
  covered: Covered,
  first: boolean,
): Walk {
  const model = new WorkflowModel(definition.spec, definition.version, {
    input,
    limit: options.limit ?? 20_000,
    ...(options.outputs ? { outputs: options.outputs } : {}),
    ...(options.guards ? { guards: options.guards as Record<string, GuardFn> } : {}),
    ...(options.mappings ? { mappings: options.mappings as Record<string, MappingFn> } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  const graph = explore(model);
  const prefixes = shortestPrefixes(model);
  const finals = [...graph.nodes].filter(([, n]) => n.snapshot.status === 'done').map(([key]) => key);
  const simple = options.strategy === 'simple';
  const sequences: AnyEventObject[][] = simple
    ? simplePaths(graph, options.maxPaths ?? 500)
    : finals.map((key) => prefixes.get(key) ?? []);
  const chosen = new Map<string, Replayed>();
  const isNew = (r: Replayed) =>
    !covered.ends.has(endKey(r)) ||
    [...r.outcomes].some((id) => !covered.outcomes.has(id)) ||
    [...r.visited].some((id) => !covered.visited.has(id));
  const add = (events: AnyEventObject[], onlyNew = false): Replayed => {
    const key = events.map((e) => model.eventKey(e)).join('\n');
    const replayed = chosen.get(key) ?? replay(model, events);
    if (onlyNew && !chosen.has(key) && !isNew(replayed)) return replayed;
    chosen.set(key, replayed);
    for (const id of replayed.outcomes) covered.outcomes.add(id);
    for (const id of replayed.visited) covered.visited.add(id);
    covered.ends.add(endKey(replayed));
    return replayed;
  };
  // A later input's every simple path is kept (that strategy is exhaustive); its shortest ones, when they say more.
  for (const events of sequences) add(events, !first && !simple);
  // Coverage paths go on to a successful end where one is reachable: a test that also finishes says more.
  const toSuccess = distances(graph, (s) => (s.output as { status?: string } | undefined)?.status === 'done');
  const toFinal = distances(graph);
  const through = (key: string, edge?: { event: AnyEventObject; to: string }) => {
    const head = [...(prefixes.get(key) ?? []), ...(edge ? [edge.event] : [])];
    const from = edge ? edge.to : key;
    return [...head, ...suffix(graph, toSuccess.has(from) ? toSuccess : toFinal, from)];
  };
  const order = [...graph.nodes.keys()].sort(
    (a, b) => (prefixes.get(a)?.length ?? 0) - (prefixes.get(b)?.length ?? 0),
  );
  // Coverage: every outcome somewhere, then every state node somewhere.
  for (const id of covered.outcomes) covered.tried.add(id);
  for (const key of order) {
    for (const edge of graph.nodes.get(key)?.edges ?? []) {
      const id = model.outcomeOf(edge.event)?.id ?? model.eventKey(edge.event);
      if (covered.tried.has(id)) continue;
      add(through(key, edge));
      for (const done of covered.outcomes) covered.tried.add(done);
      covered.tried.add(id);
    }
  }
  for (const key of order) {
    const snapshot = graph.nodes.get(key)?.snapshot as AnyMachineSnapshot;
    if (model.activeStates(snapshot).every((id) => covered.visited.has(id))) continue;
    add(through(key));
  }
  return { model, graph, paths: [...chosen.values()] };
}

/** Where a path ends, to tell ends apart across inputs. */
function endKey({ path }: Replayed): string {
  return JSON.stringify([path.end.status, path.end.state, path.end.error ?? null]);
}

/** The inputs to walk: `inputs`, else `input` (`{}` by default). */
function inputsOf(
  definition: AnyWorkflowDefinition | AnyStateMachine,
  options: WorkflowPathsOptions,
): readonly unknown[] {
  if (options.inputs === undefined) return [options.input ?? {}];
  const id = definition.id;
  if (options.input !== undefined)
    throw new ConfigurationError(`workflowPaths('${id}'): give \`input\` or \`inputs\`, not both`);
  if (options.inputs.length === 0)
    throw new ConfigurationError(`workflowPaths('${id}'): \`inputs\` is empty: give at least one input`);
  return options.inputs;
}

/** How path names say their input: its JSON when every input's is short and they differ, else its number. */
function inputLabels(inputs: readonly unknown[]): string[] {
  const json = inputs.map((input) => JSON.stringify(input) ?? 'undefined');
  const short = json.every((j) => j.length <= 40) && new Set(json).size === json.length;
  return short ? json : inputs.map((_, i) => String(i + 1));
}

/**
 * A hand-written machine's paths from several inputs: each input's, named after it; a state is uncovered when no
 * input's paths reach it.
 */
function machinePathsOver(
  machine: AnyStateMachine,
  inputs: readonly unknown[],
  options: WorkflowPathsOptions,
): WorkflowPath[] {
  const labels = inputLabels(inputs);
  const walked = inputs.map((input) => walkMachine(machine, { ...options, input }));
  const never = walked[0]?.missing.filter((state) => walked.every((w) => w.missing.includes(state))) ?? [];
  if (never.length > 0 && !options.allowUncovered) {
    throw new ConfigurationError(
      `Machine '${machine.id}' has parts no path from its ${inputs.length} inputs reaches:\n  - ${never.map((s) => `state '${s}' is on no path`).join('\n  - ')}\nGive sample outputs or inputs that reach them, check the machine with verify(), or pass allowUncovered: true`,
    );
  }
  return walked.flatMap(({ paths }, i) =>
    paths.map((p) => ({ ...p, name: `input ${labels[i]}: ${p.name}` })),
  );
}

/** The shortest event sequence to every state, from `getShortestPaths` (one call, the library's own search). */
function shortestPrefixes(model: WorkflowModel): Map<string, AnyEventObject[]> {
  const paths = getShortestPaths(model.logic() as never, model.traversal() as never) as Array<{
    state: AnyMachineSnapshot;
    steps: Array<{ event: AnyEventObject }>;
  }>;
  // Paths come back with an `xstate.init` step first: the events taken are the rest.
  return new Map(paths.map((p) => [model.serialize(p.state), p.steps.slice(1).map((s) => s.event)]));
}

/** Every path that never repeats a state and ends in a final state; one edge per distinct next state. */
function simplePaths(graph: StateGraph, maxPaths: number): AnyEventObject[][] {
  const found: AnyEventObject[][] = [];
  const onPath = new Set<string>();
  const walk = (key: string, events: AnyEventObject[]) => {
    const node = graph.nodes.get(key);
    if (!node) return;
    if (node.snapshot.status === 'done') {
      found.push(events);
      if (found.length > maxPaths) {
        throw new ConfigurationError(
          `Workflow has more than ${maxPaths} simple paths: raise \`maxPaths\` or use the 'shortest' strategy`,
        );
      }
      return;
    }
    onPath.add(key);
    const seen = new Set<string>();
    for (const edge of node.edges) {
      if (onPath.has(edge.to) || seen.has(edge.to)) continue;
      seen.add(edge.to);
      walk(edge.to, [...events, edge.event]);
    }
    onPath.delete(key);
  };
  walk(graph.initial, []);
  return found;
}

/**
 * How many steps each state is from a final state (or one `goal` accepts), by reverse breadth-first search.
 *
 * @example
 * ```ts
 * const toFinal = distances(graph); // how many steps each state is from an end
 * ```
 */
function distances(
  graph: StateGraph,
  goal: (snapshot: AnyMachineSnapshot) => boolean = () => true,
): Map<string, number> {
  return distancesTo(graph, (snapshot) => snapshot.status === 'done' && goal(snapshot));
}

/** The shortest way from a state to a final state (empty when none is reachable). */
function suffix(graph: StateGraph, toFinal: Map<string, number>, from: string): AnyEventObject[] {
  return shortestSuffix(graph, toFinal, from).map(({ edge }) => edge.event);
}

function assertCovered(walks: readonly Walk[], covered: Covered): void {
  const [{ model } = {} as Walk] = walks;
  const missing: string[] = [];
  const inputGuards: string[] = [];
  for (const info of model.index.states.values()) {
    if (['decide', 'end', 'region', 'round'].includes(info.kind) || covered.visited.has(info.statePath))
      continue;
    missing.push(`${info.kind} '${info.name}' (${info.statePath}) is on no path`);
    if (info.kind === 'arm') inputGuards.push(...guardsReadingInput(walks, info.name));
  }
  const offered = new Set<string>();
  for (const { model: m, graph } of walks)
    for (const node of graph.nodes.values())
      for (const event of m.eventsFor(node.snapshot)) {
        const outcome = m.outcomeOf(event);
        if (outcome && !covered.outcomes.has(outcome.id)) offered.add(outcome.label);
      }
  for (const label of offered)
    missing.push(`outcome '${label}' never changes the workflow (a payload its schema refuses?)`);
  if (missing.length === 0) return;
  const guards = [...new Set(inputGuards)];
  const fromInput =
    guards.length > 0
      ? `\n${guards.join(', ')} read${guards.length === 1 ? 's' : ''} the workflow input, which no sample output changes: give inputs that take each arm (workflowPaths(definition, { inputs: [a, b] }))`
      : '';
  throw new ConfigurationError(
    `Workflow '${model.spec.id}' has parts no path reaches:\n  - ${missing.join('\n  - ')}${fromInput}\nGive sample outputs that reach them (workflowPaths(definition, { outputs: { step: [...] } })), or other inputs where a guard reads the input (\`inputs: [a, b]\`), check the definition with verify(), or pass allowUncovered: true`,
  );
}

/**
 * The guards deciding a branch arm (`route.when1`: guards 0 and 1; `route.otherwise`: all of them) that read the
 * workflow input, found by calling each on the contexts the walks reached with `input` watched.
 */
function guardsReadingInput(walks: readonly Walk[], arm: string): string[] {
  const dot = arm.lastIndexOf('.');
  const node = walks[0]?.model.index.nodes.get(arm.slice(0, dot));
  if (node?.kind !== 'branch') return [];
  const key = arm.slice(dot + 1);
  const upTo = key === 'otherwise' ? node.arms.length - 1 : Number(key.slice('when'.length));
  const found: string[] = [];
  node.arms.slice(0, upTo + 1).forEach((a, i) => {
    const name = typeof a.when === 'string' ? a.when : `${node.name}.when${i}`;
    const label = typeof a.when === 'string' ? `guard '${a.when}'` : `the guard of arm '${name}'`;
    if (typeof a.when === 'string' && isDataPath(a.when)) {
      if (a.when === 'input' || a.when.startsWith('input.')) found.push(label);
      return;
    }
    if (walks.some((w) => readsInput(w, name))) found.push(label);
  });
  return found;
}

/** Whether a guard of the walk's machine reads `input` on any context the walk reached (at most 200 tried). */
function readsInput({ model, graph }: Walk, guard: string): boolean {
  const fn = (model.machine.implementations.guards as Record<string, (args: object) => boolean>)[guard];
  if (!fn) return false;
  let tried = 0;
  for (const node of graph.nodes.values()) {
    if (tried++ >= 200) break;
    let read = false;
    const watch = (key: string | symbol): void => {
      if (key === 'input') read = true;
    };
    // `get` for `ctx.input`; `has` and own descriptors for data paths, read with `Object.hasOwn`.
    const context = new Proxy(node.snapshot.context as object, {
      get(target, key, receiver) {
        watch(key);
        return Reflect.get(target, key, receiver);
      },
      has(target, key) {
        watch(key);
        return Reflect.has(target, key);
      },
      getOwnPropertyDescriptor(target, key) {
        watch(key);
        return Reflect.getOwnPropertyDescriptor(target, key);
      },
    });
    try {
      fn({ context, event: { type: 'flowstate.model' } });
    } catch {
      // A guard that throws on this context may read the input on another.
    }
    if (read) return true;
  }
  return false;
}

function validInput(definition: AnyWorkflowDefinition, input: unknown, i: number, count: number): unknown {
  const schema = definition.spec.options.input;
  if (!schema) return input;
  const parsed = parseWith(schema, input);
  if (parsed.ok) return parsed.value;
  const which = count > 1 ? `Input ${i + 1} of \`inputs\`` : "The paths' input";
  throw new ConfigurationError(
    `${which} does not match workflow '${definition.id}''s input schema: pass a valid \`${count > 1 ? 'inputs' : 'input'}\` (${parsed.issues.map((i) => i.message).join('; ')})`,
  );
}
