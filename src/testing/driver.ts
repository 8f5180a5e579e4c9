/**
 * The path driver: makes each outcome of a path happen to a real run, through the real step actors. Agents are
 * scripted through a {@link CallBoard}; escalations are decided with `run.resolveEscalation` or the supervisor's
 * answer; a timeout, backoff or deadline fires the one timer the path names.
 */
import { indexSpec } from '../dsl/spec-index.js';
import { findStepActor } from '../machine/actor-tree.js';
import type { StepSnapshot } from '../machine/step-types.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, StepOptions } from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';
import type { WorkflowRun } from '../runtime/run.js';
import type { PathStep } from './replay.js';
import { type CallBoard, CHILD_AGENT, CHILD_STEP, settle } from './script.js';

/**
 * Makes each outcome of a path happen to the real run.
 *
 * @example
 * ```ts
 * const driver = new Driver(definition, run, board, {});
 * for (const step of path.steps) await driver.drive(step);
 * ```
 */
export class Driver {
  readonly #index;

  constructor(
    definition: AnyWorkflowDefinition,
    private readonly run: WorkflowRun,
    private readonly board: CallBoard,
    private readonly real: AgentRegistry,
  ) {
    this.#index = indexSpec(definition.spec);
  }

  async drive(step: PathStep): Promise<void> {
    const { outcome } = step;
    switch (step.target) {
      case 'wait':
        if (outcome.kind === 'received')
          this.run.send({ ...outcome.payload, type: this.waitEvent(step.step) });
        else this.expire(step.step);
        return;
      case 'child': {
        const call = await this.board.take(`${step.step}/${CHILD_STEP}`, CHILD_AGENT);
        if (outcome.kind === 'done') call.resolve(outcome.output);
        else call.reject(new Error(`Scripted failure of child workflow '${step.step}'`));
        return;
      }
      case 'event':
        return this.driveEvent(step);
      default:
        return this.driveStep(step);
    }
  }

  /** Whether a step's agent runs for real (not scripted by the path). */
  isReal(step: PathStep): boolean {
    if (step.target !== 'step' && step.target !== 'item' && step.target !== 'compensation') return false;
    const { options } = this.target(step);
    return options.agent !== undefined && Object.hasOwn(this.real, options.agent);
  }

  private target(step: PathStep): { name: string; options: StepOptions } {
    const compensation = step.target === 'compensation';
    // A map item's step (`charge[3]`) and its compensation (`charge[3]/compensate`) are the map's step.
    const name = step.step.replace(/\/compensate$/, '').replace(/\[\d+\]$/, '');
    return { name, options: this.optionsOf(name, compensation) };
  }

  /** An agent step, a map item or a compensation: the outcome happens through the step actor for real. */
  private async driveStep(step: PathStep): Promise<void> {
    const { name, options } = this.target(step);
    const agent = options.agent ?? name;
    if (this.isReal(step)) return settle(200);
    const { outcome } = step;
    const path = step.step;
    switch (outcome.kind) {
      case 'done':
        return (await this.board.take(path, agent)).resolve(outcome.output);
      case 'retried':
        await this.failUntil(path, options, (s) => s.attempts > 1);
        return (await this.board.take(path, agent)).resolve(outcome.output);
      case 'fallback':
        await this.failUntil(path, options, (s) => s.agent === options.fallback);
        return (await this.board.take(path, options.fallback ?? agent)).resolve(outcome.output);
      case 'error':
        return this.failUntil(path, options, () => false);
      case 'timeout':
        return this.failUntil(path, options, () => false, 'timeout');
      case 'escalation': {
        await this.failUntil(path, options, (s) => s.phase === 'escalated' || s.phase === 'supervising');
        const s = this.stepSnapshot(path);
        if (outcome.decision === 'deadline') return this.fire(path, 'flowstate.step.timer');
        const decision =
          outcome.decision === 'skip'
            ? { action: 'skip' as const, value: outcome.output }
            : { action: outcome.decision === 'retry' ? ('retry' as const) : ('abort' as const) };
        if (s?.phase === 'supervising')
          (await this.board.take(path, options.escalate ? options.escalate.to : '')).resolve(decision);
        else this.run.resolveEscalation(path, decision);
        if (outcome.decision !== 'retry') return;
        await settle();
        return (await this.board.take(path, agent)).resolve(outcome.output);
      }
      default:
        throw new ConfigurationError(`Outcome '${outcome.kind}' cannot happen to step '${path}'`);
    }
  }

  /** An event given by the user (`events` option): a step's done or error event, or a `waitFor` event. */
  private async driveEvent(step: PathStep): Promise<void> {
    const { type } = step.event;
    const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    if (!match) {
      this.run.send(step.event);
      return;
    }
    const [, kind, id] = match as unknown as [string, string, string];
    const outcome =
      kind === 'done' ? { kind: 'done' as const, output: step.event.output } : { kind: 'error' as const };
    const target = id === 'compensation' ? 'compensation' : /\[\d+\]$/.test(id) ? 'item' : 'step';
    await this.driveStep({ ...step, step: id, target, outcome });
  }

  /**
   * Fails attempts of a step (its agent throws, or, with `timeout`, never answers until the attempt's deadline),
   * moving time over backoffs, until `stop` holds for the step actor or the step ends.
   */
  private async failUntil(
    path: string,
    options: StepOptions,
    stop: (s: StepSnapshot) => boolean,
    mode: 'error' | 'timeout' = 'error',
  ): Promise<void> {
    for (let turn = 0; turn < 1_000; turn++) {
      await settle();
      const s = this.stepSnapshot(path);
      if (s?.status !== 'active' || stop(s)) return;
      if (s.phase === 'backoff') this.fire(path, 'flowstate.step.timer');
      else if (s.phase !== 'running') return;
      else if (mode === 'timeout' && options.timeoutMs !== undefined)
        this.fire(path, 'flowstate.step.timeout');
      else {
        const call = await this.board.take(path, s.agent);
        // A step that retries only some errors (`retryOn`) gets one of those: the path's retries must happen.
        const code = options.retry?.retryOn?.[0];
        const error = new Error(`Scripted failure of '${path}' (attempt ${s.attempts})`);
        call.reject(code === undefined ? error : Object.assign(error, { code }));
      }
    }
  }

  private stepSnapshot(path: string): StepSnapshot | undefined {
    return findStepActor(this.run.actor, path)?.getSnapshot() as StepSnapshot | undefined;
  }

  private optionsOf(name: string, compensation: boolean): StepOptions {
    const node = this.#index.nodes.get(name);
    const options = node?.kind === 'step' ? node.options : node?.kind === 'map' ? node.step : undefined;
    if (!options)
      throw new ConfigurationError(`The path names step '${name}', which the workflow does not have`);
    return compensation ? { ...options, agent: options.compensate ?? '', escalate: false } : options;
  }

  private waitEvent(name: string): string {
    const node = this.#index.nodes.get(name);
    if (node?.kind !== 'wait')
      throw new ConfigurationError(`The path names waitFor '${name}', which the workflow does not have`);
    return node.event;
  }

  /**
   * Fires the timer of one step actor (a backoff, an attempt timeout, an escalation deadline) as its clock would.
   * Time itself does not move: on one clock, every step started together would time out together, and a path
   * says which one does.
   */
  private fire(path: string, type: 'flowstate.step.timer' | 'flowstate.step.timeout'): void {
    const actor = findStepActor(this.run.actor, path);
    const s = actor?.getSnapshot() as StepSnapshot | undefined;
    if (actor && s?.status === 'active') actor.send({ type, token: s.token });
  }

  /** Fires the deadline of a `waitFor` step: the timeout event its machine schedules for itself. */
  private expire(name: string): void {
    this.run.actor.send({ type: `xstate.done.actor.${name}`, output: null });
  }
}
