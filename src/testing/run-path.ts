/**
 * `testWorkflow`: drives a real run (a real engine, the real step actors) along each path, with scripted agents
 * and a virtual clock that never moves by itself (no real timer fires during a path; a path's time-based outcomes
 * fire the one timer they are about), checking the workflow's state after every step and its end.
 */
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import type { WorkflowOutcome } from '../machine/context.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, WorkflowContext } from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';
import { agentNames } from '../model/walk.js';
import { createEngine } from '../runtime/engine.js';
import { VirtualClock } from './clock.js';
import { Driver } from './driver.js';
import type { WorkflowPath } from './replay.js';
import { CallBoard, CHILD_AGENT, settle, stubChildren } from './script.js';

/**
 * Options of {@link testWorkflow}.
 *
 * @example
 * ```ts
 * testWorkflow(definition, { paths, agents: { format: (x: unknown) => x }, guards: { isLow } });
 * ```
 */
export interface TestWorkflowOptions {
  /** The paths to run, from {@link workflowPaths} (or read back from JSON). */
  readonly paths: readonly WorkflowPath[];
  /**
   * Agents that run for real instead of being scripted (pure, deterministic ones): their steps are not driven,
   * their results must take the path's route. Every other agent is scripted by the path.
   */
  readonly agents?: AgentRegistry;
  /** Guards and mappings the engine registers by name, as given to `workflowPaths`. */
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>>;
  /** Mappings the engine registers by name (`input: 'tableList'`), as given to `workflowPaths`. */
  // biome-ignore lint/suspicious/noExplicitAny: as above
  readonly mappings?: Readonly<Record<string, (ctx: WorkflowContext<any>) => unknown>>;
}

/**
 * One path as a test: give `run` to your test runner (it rejects with a {@link PathMismatchError}).
 *
 * @example
 * ```ts
 * for (const t of testWorkflow(definition, { paths })) it(t.name, t.run);
 * ```
 */
export interface WorkflowTest {
  /** The path's name, to use as the test's name. */
  readonly name: string;
  /** The path this test drives the run along. */
  readonly path: WorkflowPath;
  /** Runs the path on a fresh engine with a virtual clock; rejects with a {@link PathMismatchError}. */
  run(): Promise<void>;
}

/**
 * A run did not follow its path: where it went instead.
 *
 * @example
 * ```ts
 * await runPath(definition, path).catch((e) => e instanceof PathMismatchError && console.log(e.step, e.actual));
 * ```
 */
export class PathMismatchError extends Error {
  constructor(
    readonly pathName: string,
    /** The step index (0-based; the number of steps for the end). */
    readonly step: number,
    readonly expected: unknown,
    readonly actual: unknown,
    what: string,
  ) {
    super(
      `Path '${pathName}', ${what}:\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`,
    );
    this.name = 'PathMismatchError';
  }
}

/**
 * One test per path: each drives a real run of the definition along its path (agents scripted to succeed,
 * fail, time out or escalate as the path says; escalations decided with `run.resolveEscalation` or the
 * supervisor agent; timeouts, backoffs and deadlines fired on the step they belong to) and checks the state after
 * every step and the end (status, output or error code).
 *
 * @example
 * ```ts
 * describe('review workflow', () => {
 *   for (const t of testWorkflow(review, { paths: workflowPaths(review) })) it(t.name, t.run);
 * });
 * ```
 */
export function testWorkflow(
  definition: AnyWorkflowDefinition,
  options: TestWorkflowOptions,
): WorkflowTest[] {
  return options.paths.map((path) => {
    if (path.workflow !== definition.id || path.version !== definition.version) {
      throw new ConfigurationError(
        `Path '${path.name}' was made from ${path.workflow}@${path.version}, not ${definition.id}@${definition.version}: generate the paths again`,
      );
    }
    return { name: path.name, path, run: () => runPath(definition, path, options) };
  });
}

/**
 * Runs one path; resolves when the run followed it to its end.
 *
 * @example
 * ```ts
 * await runPath(review, workflowPaths(review)[0] as WorkflowPath);
 * ```
 */
export async function runPath(
  definition: AnyWorkflowDefinition,
  path: WorkflowPath,
  options: Omit<TestWorkflowOptions, 'paths'> = {},
): Promise<void> {
  const real = options.agents ?? {};
  const board = new CallBoard();
  const clock = new VirtualClock();
  const agents: Record<string, AgentRegistry[string]> = { [CHILD_AGENT]: board.agent(CHILD_AGENT) };
  for (const name of agentNames(definition.spec)) agents[name] = real[name] ?? board.agent(name);
  const engine = createEngine({
    agents,
    clock,
    logger: pino({ level: 'silent' }),
    random: () => 0,
    // Paths test behaviour, whatever `verify` says: a definition that fails on purpose has paths too.
    verify: false,
    ...(options.guards ? { guards: options.guards } : {}),
    ...(options.mappings ? { mappings: options.mappings } : {}),
  });
  const run = engine.start(stubChildren(definition), path.input, { id: 'path' });
  const driver = new Driver(definition, run, board, real);
  try {
    await settle();
    // A real agent answers whenever it is called, not in path order: states before its step are not checked.
    const lastReal = path.steps.findLastIndex((step) => driver.isReal(step));
    for (const [i, step] of path.steps.entries()) {
      await driver.drive(step);
      // The run reacts through a few promise hops: wait (microtasks only) until it stands where the path says.
      for (let turn = 0; turn < 500 && !isDeepStrictEqual(run.actor.getSnapshot().value, step.state); turn++)
        await Promise.resolve();
      const actual = run.actor.getSnapshot().value;
      if (i >= lastReal && !isDeepStrictEqual(actual, step.state))
        throw new PathMismatchError(
          path.name,
          i,
          step.state,
          actual,
          `after step ${i + 1} ('${step.label}')`,
        );
    }
    const snapshot = run.actor.getSnapshot();
    const outcome = snapshot.output as WorkflowOutcome | undefined;
    const actual = {
      status: snapshot.status === 'done' ? (outcome?.status ?? 'cancelled') : 'active',
      state: snapshot.value,
      ...(outcome?.status === 'done' ? { output: outcome.output } : {}),
      ...(outcome && outcome.status !== 'done' && path.end.error
        ? {
            error: {
              ...(path.end.error.code !== undefined ? { code: outcome.error.code } : {}),
              ...(path.end.error.stepPath !== undefined ? { stepPath: outcome.error.stepPath } : {}),
            },
          }
        : {}),
    };
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), path.end))
      throw new PathMismatchError(path.name, path.steps.length, path.end, actual, 'at the end');
  } finally {
    run.cancel('The path test is over');
    board.clear();
    await settle();
  }
}
