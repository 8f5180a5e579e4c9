/**
 * The state space of a workflow, as the XState graph utilities walk it. Invokes do not run during a traversal,
 * so step outcomes are supplied as events (with the outputs guards read); states are serialized by their value
 * plus what guards and the engine's bookkeeping read, never by the whole context, which would make the space
 * explode. Every guard is evaluated for real on the sample outputs, as a real run will.
 */
import {
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createMachine,
  getInitialMicrosteps,
  getMicrosteps,
  getStateNodes,
  initialTransition,
} from 'xstate';
import {
  childOutcomes,
  compensationOutcomes,
  type OutcomeEvent,
  type Sample,
  stepOutcomes,
  waitOutcomes,
} from '../dsl/outcomes.js';
import { deriveSamples } from '../dsl/samples.js';
import { indexSpec, type SpecIndex } from '../dsl/spec-index.js';
import { compileWorkflow } from '../machine/compile.js';
import type { MachineContext, MachineInput } from '../machine/context.js';
import { type GuardFn, type MappingFn, resolveMapping } from '../machine/refs.js';
import { ROOT_STATES } from '../machine/state-keys.js';
import type { WorkflowSpec } from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';

/**
 * Options of a {@link WorkflowModel}.
 *
 * @example
 * ```ts
 * const model = new WorkflowModel(spec, version, { input: {}, limit: 20_000 });
 * ```
 */
export interface ModelOptions {
  /** The workflow input the traversal starts from (already validated). */
  readonly input?: unknown;
  /** Sample results per step, wait or map name. */
  readonly outputs?: Readonly<Record<string, readonly unknown[]>>;
  readonly guards?: Readonly<Record<string, GuardFn>>;
  readonly mappings?: Readonly<Record<string, MappingFn>>;
  /** Replaces the derived outcome events: every one is offered in every state. */
  readonly events?: readonly AnyEventObject[];
  /** At most this many states are expanded. */
  readonly limit: number;
}

/** A step taken: the configurations passed through and the state it ends in. */
interface Taken {
  readonly next: AnyMachineSnapshot;
  readonly microsteps: readonly AnyMachineSnapshot[];
}

/** Child workflows are black boxes here (their outcomes are events): their machines are never walked. */
const STUB_CHILD = createMachine({ id: 'flowstate-child' });

/**
 * A workflow's machine with outcome events and a state serialization, ready for `xstate/graph`.
 *
 * @example
 * ```ts
 * const model = new WorkflowModel(definition.spec, definition.version, { limit: 20_000 });
 * const graph = explore(model);
 * ```
 */
export class WorkflowModel {
  readonly machine: AnyStateMachine;
  readonly index: SpecIndex;
  readonly input: MachineInput;
  readonly initial: AnyMachineSnapshot;
  private readonly samples: Map<string, Sample[]>;
  private readonly outcomes = new WeakMap<AnyEventObject, OutcomeEvent>();
  private readonly cache = new Map<string, AnyEventObject[]>();
  /** Guards whose values are part of a state's identity. */
  private readonly observed: string[] = [];
  private readonly items: Array<[string, MappingFn]> = [];
  private readonly taken = new WeakMap<AnyMachineSnapshot, WeakMap<AnyEventObject, Taken>>();

  constructor(
    readonly spec: WorkflowSpec,
    version: string,
    readonly options: ModelOptions,
  ) {
    this.index = indexSpec(spec);
    this.samples = deriveSamples(spec, options.outputs);
    this.machine = compileWorkflow(spec, {
      version,
      guards: options.guards ?? {},
      mappings: options.mappings ?? {},
      childMachine: () => STUB_CHILD,
      mapItemEvents: true,
    });
    for (const node of this.index.nodes.values()) {
      if (node.kind === 'branch')
        for (const [i, arm] of node.arms.entries())
          this.observe(typeof arm.when === 'string' ? arm.when : `${node.name}.when${i}`);
      if (node.kind === 'loop')
        this.observe(typeof node.until === 'string' ? node.until : `${node.name}.until`);
      if (node.kind === 'map')
        this.items.push([node.name, resolveMapping(node.items, options.mappings ?? {})]);
    }
    this.input = { workflowId: 'model', input: options.input ?? {}, validated: true };
    this.initial = initialTransition(this.machine, this.input as never)[0];
  }

  /** The modelled outcome an event stands for. */
  outcomeOf(event: AnyEventObject): OutcomeEvent | undefined {
    return this.outcomes.get(event);
  }

  /** The outcome events that can happen in a state: one set per step running there. */
  eventsFor(snapshot: AnyMachineSnapshot): AnyEventObject[] {
    if (snapshot.status !== 'active') return [];
    if (this.options.events) return [...this.options.events];
    const context = snapshot.context as MachineContext;
    const events: AnyEventObject[] = [];
    for (const meta of Object.values(snapshot.getMeta())) {
      const info = (meta as { flowstate?: { name?: string } }).flowstate;
      const node = info?.name === undefined ? undefined : this.index.nodes.get(info.name);
      if (node?.kind === 'step') {
        const samples = this.samplesOf(node.name);
        events.push(
          ...this.cached(node.name, () =>
            node.options.workflow
              ? childOutcomes(node.name, samples)
              : stepOutcomes(node.name, node.name, node.options, samples, 'step'),
          ),
        );
      } else if (node?.kind === 'wait') {
        events.push(...this.cached(node.name, () => waitOutcomes(node, this.samplesOf(node.name))));
      } else if (node?.kind === 'map') {
        // Items settle lowest index first: the order of items does not change where the workflow goes.
        const running = context.maps[node.name]?.running ?? [];
        if (running.length === 0) continue;
        const id = `${node.name}[${Math.min(...running)}]`;
        events.push(
          ...this.cached(id, () => stepOutcomes(id, id, node.step, this.samplesOf(node.name), 'item')),
        );
      }
    }
    const step = context.completed.at(-1);
    if (step !== undefined && snapshot.matches({ [ROOT_STATES.compensating]: 'running' }))
      events.push(...this.cached(`${step}/compensate`, () => compensationOutcomes(step)));
    return events;
  }

  /** A state's identity: its value plus what decides where it goes next, never the whole context. */
  serialize(snapshot: AnyMachineSnapshot): string {
    const c = snapshot.context as MachineContext;
    const ctx = { context: c, event: { type: 'flowstate.model' } };
    const guards = this.machine.implementations.guards as Record<string, (args: typeof ctx) => boolean>;
    const observed = this.observed.map((name) => attempt(() => guards[name]?.(ctx)));
    const maps = Object.entries(c.maps).map(([k, m]) => [k, m.next, m.running, m.total]);
    const items = this.items.map(([k, fn]) => [k, attempt(() => lengthOf(fn(c)))]);
    const pending = Object.keys(c.pending);
    return JSON.stringify([
      snapshot.status,
      snapshot.value,
      observed,
      c.iterations,
      pending,
      c.completed,
      maps,
      items,
      // Whether a compensation failed decides whether the run ends `compensated` or `failed`.
      c.compensationErrors.length > 0,
    ]);
  }

  /** The traversal options `xstate/graph` needs for this model. */
  traversal(): Record<string, unknown> {
    return {
      input: this.input,
      fromState: this.initial,
      events: (s: AnyMachineSnapshot) => this.eventsFor(s),
      serializeState: (s: AnyMachineSnapshot) => this.serialize(s),
      serializeEvent: (e: AnyEventObject) => this.eventKey(e),
      limit: this.options.limit,
    };
  }

  /** Whether a loop stands at its bound with its `until` false (in a snapshot taken as it is left). */
  exhausted(loop: string, snapshot: AnyMachineSnapshot): boolean {
    const node = this.index.nodes.get(loop);
    if (node?.kind !== 'loop') return false;
    const context = snapshot.context as MachineContext;
    if ((context.iterations[loop] ?? 0) < node.maxIterations) return false;
    const guard = typeof node.until === 'string' ? node.until : `${loop}.until`;
    const guards = this.machine.implementations.guards as Record<string, (args: object) => boolean>;
    return attempt(() => guards[guard]?.({ context, event: { type: 'flowstate.model' } })) === false;
  }

  /** The machine as graph logic whose transitions are taken once (see {@link microsteps}) and named when they throw. */
  logic(): AnyStateMachine {
    const wrapped = Object.create(this.machine) as AnyStateMachine;
    Object.defineProperty(wrapped, 'transition', {
      value: (snapshot: AnyMachineSnapshot, event: AnyEventObject) => this.next(snapshot, event),
    });
    return wrapped;
  }

  /** The distinct key of an event for the adjacency map (variants of one machine event differ by outcome). */
  eventKey(event: AnyEventObject): string {
    return this.outcomeOf(event)?.id ?? JSON.stringify(event);
  }

  /** Ids of every active state node of a snapshot, without the machine id. */
  activeStates(snapshot: AnyMachineSnapshot): string[] {
    const prefix = `${this.machine.id}.`;
    const ids = getStateNodes(this.machine.root, snapshot.value).map((n) => n.id);
    // getStateNodes lists a node once per way it is reached: keep each once.
    return [...new Set(ids)].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length));
  }

  /** One step of the machine, as a real run takes it. */
  next(snapshot: AnyMachineSnapshot, event: AnyEventObject): AnyMachineSnapshot {
    return this.microstepsOf(snapshot, event).next;
  }

  /** The configurations the machine passes through in one step (branch arms decided, loop rounds started). */
  microsteps(snapshot: AnyMachineSnapshot, event: AnyEventObject): readonly AnyMachineSnapshot[] {
    return this.microstepsOf(snapshot, event).microsteps;
  }

  /** The configurations the machine passes through as it starts. */
  initialMicrosteps(): AnyMachineSnapshot[] {
    return getInitialMicrosteps(this.machine, this.input as never).map(([s]) => s);
  }

  /**
   * One step, computed once per state and event: its microsteps, the last of which is the next state (an event
   * the state does not take has none). Transitions dominate the cost of a walk, so the graph and the naming of
   * paths share this one.
   */
  private microstepsOf(snapshot: AnyMachineSnapshot, event: AnyEventObject): Taken {
    let byEvent = this.taken.get(snapshot);
    if (!byEvent) {
      byEvent = new WeakMap();
      this.taken.set(snapshot, byEvent);
    }
    let taken = byEvent.get(event);
    if (!taken) {
      let microsteps: AnyMachineSnapshot[];
      try {
        microsteps = getMicrosteps(this.machine, snapshot, event as never).map(([s]) => s);
      } catch (error) {
        const label = this.outcomeOf(event)?.label ?? event.type;
        throw new ConfigurationError(
          `Walking workflow '${this.spec.id}' failed at ${JSON.stringify(snapshot.value)} on '${label}': ${error instanceof Error ? error.message : String(error)}. Give sample outputs that its guards and mappings can read (option \`outputs\`)`,
          { cause: error },
        );
      }
      taken = { next: microsteps.at(-1) ?? snapshot, microsteps };
      byEvent.set(event, taken);
    }
    return taken;
  }

  private observe(guard: string): void {
    if (!this.observed.includes(guard)) this.observed.push(guard);
  }

  private samplesOf(name: string): Sample[] {
    return this.samples.get(name) ?? [{ output: {} }];
  }

  private cached(key: string, make: () => OutcomeEvent[]): AnyEventObject[] {
    let events = this.cache.get(key);
    if (!events) {
      events = make().map((o) => {
        this.outcomes.set(o.event, o);
        return o.event;
      });
      this.cache.set(key, events);
    }
    return events;
  }
}

function attempt<T>(fn: () => T): T | 'throws' {
  try {
    return fn();
  } catch {
    return 'throws';
  }
}

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : -1;
}
