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
import { parseWith } from '../model/validation.js';
import { explore, type StateGraph } from './graph.js';
import { distancesTo, shortestSuffix } from './graph-search.js';
import { WorkflowModel } from './model.js';
import { machinePaths } from './paths-handwritten.js';
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
  // A hand-written machine has no spec: its own state space, with its invokes' outcomes as events, is walked.
  if (isStateMachine(definition)) return machinePaths(definition, options);
  const handwritten = handwrittenMachineOf(definition);
  if (handwritten) return machinePaths(handwritten, options);
  const input = validInput(definition, options.input ?? {});
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
  const sequences: AnyEventObject[][] =
    options.strategy === 'simple'
      ? simplePaths(graph, options.maxPaths ?? 500)
      : finals.map((key) => prefixes.get(key) ?? []);
  const chosen = new Map<string, Replayed>();
  const add = (events: AnyEventObject[]): Replayed => {
    const key = events.map((e) => model.eventKey(e)).join('\n');
    const replayed = chosen.get(key) ?? replay(model, events);
    chosen.set(key, replayed);
    return replayed;
  };
  for (const events of sequences) add(events);
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
  const used = () => new Set([...chosen.values()].flatMap((r) => [...r.outcomes]));
  const outcomes = used();
  for (const key of order) {
    for (const edge of graph.nodes.get(key)?.edges ?? []) {
      const id = model.outcomeOf(edge.event)?.id ?? model.eventKey(edge.event);
      if (outcomes.has(id)) continue;
      add(through(key, edge));
      for (const covered of used()) outcomes.add(covered);
      outcomes.add(id);
    }
  }
  const visited = new Set([...chosen.values()].flatMap((r) => [...r.visited]));
  for (const key of order) {
    const snapshot = graph.nodes.get(key)?.snapshot as AnyMachineSnapshot;
    if (model.activeStates(snapshot).every((id) => visited.has(id))) continue;
    for (const id of add(through(key)).visited) visited.add(id);
  }
  if (!options.allowUncovered) assertCovered(model, graph, visited, used());
  const names = new Map<string, number>();
  return [...chosen.values()].map(({ path }) => {
    const base = nameOf(path);
    const seen = (names.get(base) ?? 0) + 1;
    names.set(base, seen);
    const name = seen === 1 ? base : `${base} (${seen})`;
    return { name, workflow: definition.id, version: definition.version, ...path };
  });
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

function assertCovered(
  model: WorkflowModel,
  graph: StateGraph,
  visited: Set<string>,
  used: Set<string>,
): void {
  const missing: string[] = [];
  for (const info of model.index.states.values()) {
    if (['decide', 'end', 'region', 'round'].includes(info.kind) || visited.has(info.statePath)) continue;
    missing.push(`${info.kind} '${info.name}' (${info.statePath}) is on no path`);
  }
  const offered = new Set<string>();
  for (const node of graph.nodes.values())
    for (const event of model.eventsFor(node.snapshot)) {
      const outcome = model.outcomeOf(event);
      if (outcome && !used.has(outcome.id)) offered.add(outcome.label);
    }
  for (const label of offered)
    missing.push(`outcome '${label}' never changes the workflow (a payload its schema refuses?)`);
  if (missing.length === 0) return;
  throw new ConfigurationError(
    `Workflow '${model.spec.id}' has parts no path reaches:\n  - ${missing.join('\n  - ')}\nGive sample outputs that reach them (workflowPaths(definition, { outputs: { step: [...] } })), check the definition with verify(), or pass allowUncovered: true`,
  );
}

function validInput(definition: AnyWorkflowDefinition, input: unknown): unknown {
  const schema = definition.spec.options.input;
  if (!schema) return input;
  const parsed = parseWith(schema, input);
  if (parsed.ok) return parsed.value;
  throw new ConfigurationError(
    `The paths' input does not match workflow '${definition.id}''s input schema: pass a valid \`input\` (${parsed.issues.map((i) => i.message).join('; ')})`,
  );
}
