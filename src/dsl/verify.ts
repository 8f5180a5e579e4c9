/**
 * `verify`: proves things about a workflow definition before it runs. The spec checks read the definition
 * (deadlines, timeouts, bounds, data paths); the machine checks read the compiled machine: every invoked step
 * has an error route, every branch a default, every loop a bound. Together they rule out dead ends: each state
 * then has a way out (an outcome, an error route or a deadline) and every cycle is bounded, so a final state is
 * reachable from every state. The flow analysis (verify-flow.ts) finds what never runs and what never finishes.
 */
import type { AnyStateMachine } from 'xstate';
import type { AnyWorkflowDefinition, StepOptions } from '../model/definition.js';
import { type IssuePath, WorkflowDefinitionError } from '../model/errors.js';
import { stepOptionsOf, walkNodes } from '../model/walk.js';
import { handwrittenMachineOf, isStateMachine } from './handwritten.js';
import { indexSpec, ROOT_PATH } from './spec-index.js';
import { analyzeFlow } from './verify-flow.js';
import { type VerifyMachineOptions, verifyMachine } from './verify-handwritten.js';
import { machineChecks } from './verify-machine.js';
import { orderProblems } from './verify-order.js';
import { flowProblems } from './verify-report.js';
import type { VerifyProblem } from './verify-types.js';

export type { VerifyCode, VerifyProblem } from './verify-types.js';

/**
 * What `verify` found.
 *
 * @example
 * ```ts
 * const { ok, problems, states } = verify(definition);
 * ```
 */
export interface VerifyReport {
  /** The id of the definition (or hand-written machine) checked. */
  readonly workflow: string;
  /** The definition's `version`; for a hand-written machine, a hash of its config. */
  readonly version: string;
  /** No errors (warnings allowed). */
  readonly ok: boolean;
  /** Everything found, errors first. Empty when the definition is clean. */
  readonly problems: readonly VerifyProblem[];
  /** States of the compiled machine checked, and routes (combinations of results) followed through them. */
  readonly states: number;
  /**
   * Routes (combinations of sample results) the flow analysis followed; for a hand-written machine, the distinct
   * snapshots its exploration reached.
   */
  readonly routes: number;
}

/**
 * Options of {@link verify}.
 *
 * @example
 * ```ts
 * verify(definition, { maxDeadlineMs: 90 * 86_400_000 });
 * ```
 */
export interface VerifyOptions extends VerifyMachineOptions {
  /** A wait or escalation deadline longer than this can wait forever in practice. @default 365 days */
  readonly maxDeadlineMs?: number;
  /** The compiled machine to check, such as the one an engine runs. @default the definition's own machine */
  readonly machine?: AnyStateMachine;
}

const DAY = 86_400_000;

/**
 * Checks a definition: every state reachable; every arm, region, loop and the workflow itself able to finish;
 * no dead end (every step with an error route, every branch with a default, every loop bounded); every wait and
 * escalation with a deadline; retries bounded; data paths naming real steps. Guards that are functions or
 * registered names may go either way; data paths on results are followed through every sample result. Problems
 * carry their path in the definition, the machine state, a hint and a route that shows them. A hand-written XState
 * machine is checked over its explored states and its invokes' outcomes (unreachable states, states that can never
 * end, invokes without onError); `input` and `outputs` feed that walk (see docs/handwritten.md).
 *
 * @example
 * ```ts
 * const report = verify(definition);
 * if (!report.ok) for (const p of report.problems) console.log(p.state, p.message, p.route);
 * ```
 */
export function verify(
  definition: AnyWorkflowDefinition | AnyStateMachine,
  options: VerifyOptions = {},
): VerifyReport {
  // A hand-written machine (or the engine's wrapper of one) has no spec: its state space is walked instead.
  if (isStateMachine(definition)) return verifyMachine(definition, options);
  const machine = handwrittenMachineOf(definition);
  if (machine) return verifyMachine(machine, options);
  const problems = [
    ...specChecks(definition, options.maxDeadlineMs ?? 365 * DAY),
    ...machineChecks(definition, options.machine ?? definition.machine),
  ];
  const flow = analyzeFlow(definition.spec);
  problems.push(...flowProblems(indexSpec(definition.spec), flow));
  problems.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return {
    workflow: definition.id,
    version: definition.version,
    ok: !problems.some((p) => p.severity === 'error'),
    problems,
    states: indexSpec(definition.spec).states.size,
    routes: flow.routes,
  };
}

/**
 * A definition `verify` found errors in; `problems` lists them (as a `WorkflowDefinitionError`), `report` has
 * everything. Thrown by the engine for an unverified definition unless `createEngine({ verify: false })`.
 *
 * @example
 * ```ts
 * try { engine.start(definition, input) } catch (err) {
 *   if (err instanceof WorkflowVerificationError) console.log(err.report.problems);
 * }
 * ```
 */
export class WorkflowVerificationError extends WorkflowDefinitionError {
  readonly report: VerifyReport;
  constructor(report: VerifyReport) {
    super(
      report.workflow,
      report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => ({
          code: p.code,
          path: p.path,
          message: `${p.message} [state ${p.state}]: ${p.hint}${p.route ? `; route: ${p.route}` : ''}`,
        })),
    );
    this.report = report;
  }
}

/**
 * Verifies a definition and throws a {@link WorkflowVerificationError} when it has errors.
 *
 * @example
 * ```ts
 * assertVerified(definition, { guards: { hasCritical } });
 * ```
 */
export function assertVerified(
  definition: AnyWorkflowDefinition | AnyStateMachine,
  options: VerifyOptions = {},
): VerifyReport {
  const report = verify(definition, options);
  if (!report.ok) throw new WorkflowVerificationError(report);
  return report;
}

/**
 * Checks on the spec alone: deadlines, timeouts, bounded retries, data paths naming real steps that run before them.
 */
function specChecks(definition: AnyWorkflowDefinition, maxDeadlineMs: number): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const index = indexSpec(definition.spec);
  // A node and its containers' ends share a spec path: the node (listed first) names the state.
  const stateOf = new Map<string, string>();
  for (const info of index.states.values())
    if (!stateOf.has(info.specPath.join('.'))) stateOf.set(info.specPath.join('.'), info.statePath);
  const at = (path: IssuePath) => stateOf.get(path.join('.')) ?? ROOT_PATH;
  const names = new Set(index.nodes.keys());
  const days = (ms: number) => `${Math.round(ms / DAY)} days`;
  const result = (ref: unknown, path: IssuePath, guard: boolean) => {
    if (typeof ref !== 'string' || !ref.startsWith('results.')) return;
    const step = ref.split('.')[1] ?? '';
    if (names.has(step)) return;
    problems.push({
      code: 'unknown-result',
      severity: guard ? 'error' : 'warning',
      path,
      state: at(path.slice(0, -1)),
      message: `'${ref}' reads the result of '${step}', but no step has that name${guard ? ': the guard never holds' : ''}`,
      hint: `name one of: ${[...names].join(', ')}`,
    });
  };
  const step = (options: StepOptions, path: IssuePath, node: IssuePath) => {
    if (options.escalate) {
      if (options.escalate.timeoutMs > maxDeadlineMs) {
        problems.push({
          code: 'no-deadline',
          severity: 'error',
          path: [...path, 'escalate', 'timeoutMs'],
          state: at(node),
          message: `The escalation waits up to ${days(options.escalate.timeoutMs)}: it can wait forever in practice`,
          hint: `give it a deadline under ${days(maxDeadlineMs)} and an onTimeout ('fail' or 'skip')`,
        });
      }
    }
    if (options.workflow === undefined && options.timeoutMs === undefined) {
      problems.push({
        code: 'no-timeout',
        severity: 'warning',
        path,
        state: at(node),
        message: 'The step has no `timeoutMs`: an agent that never answers holds it forever',
        hint: 'set timeoutMs (each attempt gets it) so a hung agent fails into the error route',
      });
    }
    result(options.input, [...path, 'input'], false);
  };
  walkNodes(definition.spec.nodes, (node, path) => {
    const options = stepOptionsOf(node, path);
    if (options) step(options.options, options.path, path);
    if (node.kind === 'wait' && node.timeoutMs > maxDeadlineMs) {
      problems.push({
        code: 'no-deadline',
        severity: 'error',
        path: [...path, 'timeoutMs'],
        state: at(path),
        message: `The wait lasts up to ${days(node.timeoutMs)}: it can wait forever in practice`,
        hint: `give it a deadline under ${days(maxDeadlineMs)} with onTimeout 'fail' or 'skip'`,
      });
    }
    if (node.kind === 'branch')
      for (const [i, arm] of node.arms.entries()) result(arm.when, [...path, 'arms', i, 'when'], true);
    if (node.kind === 'loop') result(node.until, [...path, 'until'], true);
    if (node.kind === 'map') result(node.items, [...path, 'items'], true);
  });
  result(definition.spec.options.result, ['result'], false);
  problems.push(...orderProblems(definition.spec, at));
  return problems;
}
