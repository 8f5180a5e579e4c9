/**
 * The outcome catalogue: what can happen to each step of a workflow, and the event each outcome delivers to the
 * workflow machine. Retries, fallbacks and escalation happen inside the step actor, so at the machine level a step
 * only ever ends `done` (with an output) or in error; the catalogue keeps the finer outcome (a retry that worked,
 * an escalation skipped by a human...) beside the machine event, so paths can name it and `testWorkflow` can make
 * it happen for real.
 */
import type { AnyEventObject } from 'xstate';
import type { StepOptions, WorkflowNode } from '../model/definition.js';
import { failureOf, type SerializedError, type StepErrorCode } from '../model/errors.js';

/**
 * What happens to one step (or wait, map item, compensation) in a path. JSON-safe.
 *
 * @example
 * ```ts
 * const outcome: Outcome = { kind: 'escalation', decision: 'skip', output: null };
 * ```
 */
export type Outcome =
  /** The agent succeeds on its first attempt with `output`. */
  | { readonly kind: 'done'; readonly output: unknown }
  /** The first attempt fails, a retry succeeds with `output` (steps with `retry.attempts > 1`). */
  | { readonly kind: 'retried'; readonly output: unknown }
  /** Every attempt of the agent fails, the fallback agent succeeds with `output`. */
  | { readonly kind: 'fallback'; readonly output: unknown }
  /** Every attempt (and the fallback) throws: the step fails. For a child workflow: the child fails. */
  | { readonly kind: 'error' }
  /** Every attempt (and the fallback) times out: the step fails. */
  | { readonly kind: 'timeout' }
  /** Every attempt fails, then the escalation decides (or its deadline passes). `output` is the step's result. */
  | {
      readonly kind: 'escalation';
      readonly decision: 'retry' | 'skip' | 'abort' | 'deadline';
      readonly output: unknown;
    }
  /** A `waitFor` step gets its event with this payload. */
  | { readonly kind: 'received'; readonly payload: Readonly<Record<string, unknown>> }
  /** A `waitFor` step's deadline passes. */
  | { readonly kind: 'expired' };

/**
 * What an outcome applies to.
 *
 * @example
 * ```ts
 * const target: TargetKind = 'item'; // a map item such as check[0]
 * ```
 */
export type TargetKind = 'step' | 'child' | 'item' | 'wait' | 'compensation';

/**
 * One modelled outcome: the machine event plus what `testWorkflow` needs to make it happen.
 *
 * @example
 * ```ts
 * const [done] = stepOutcomes('scan', 'scan', options, [{ output: {} }], 'step');
 * done?.event; // { type: 'xstate.done.actor.scan', output: {} }
 * ```
 */
export interface OutcomeEvent {
  /** Unique per step path and outcome, such as `scan:done#2` or `check[0]:error`. */
  readonly id: string;
  /** Readable, such as `scan done (critical)` or `review escalated: skip`. */
  readonly label: string;
  /** The step path the run reports: `scan`, `check[0]`, `scan/compensate`. */
  readonly step: string;
  readonly target: TargetKind;
  readonly outcome: Outcome;
  /** The event the workflow machine receives. */
  readonly event: AnyEventObject;
}

/**
 * A sample result of a step: tried as a separate `done` outcome.
 *
 * @example
 * ```ts
 * const sample: Sample = { output: { critical: true }, label: 'critical' };
 * ```
 */
export interface Sample {
  readonly output: unknown;
  /** Shown in labels when a step has several samples. */
  readonly label?: string;
}

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';

/**
 * Where a step's agent-level outcomes come from: its options, and whether it runs a child workflow.
 *
 * @example
 * ```ts
 * stepOutcomes('scan', 'scan', { agent: 'scan', timeoutMs: 1_000 }, [{ output: {} }], 'step').map((o) => o.label);
 * // ['scan done', 'scan error', 'scan timeout']
 * ```
 */
export function stepOutcomes(
  invokeId: string,
  stepPath: string,
  options: StepOptions,
  samples: readonly Sample[],
  target: 'step' | 'item',
): OutcomeEvent[] {
  const list: OutcomeEvent[] = [];
  const first = samples[0]?.output ?? null;
  const push = (key: string, label: string, outcome: Outcome, event: OutcomeEvent['event']) =>
    list.push({
      id: `${stepPath}:${key}`,
      label: `${stepPath} ${label}`,
      step: stepPath,
      target,
      outcome,
      event,
    });
  const done = (key: string, label: string, outcome: Outcome, output: unknown) =>
    push(key, label, outcome, { type: DONE + invokeId, output });
  const failed = (key: string, label: string, outcome: Outcome, code: StepErrorCode) =>
    push(key, label, outcome, { type: ERROR + invokeId, error: stepError(stepPath, code, label) });
  samples.forEach((s, i) => {
    done(`done#${i + 1}`, `done${sampleLabel(samples, i)}`, { kind: 'done', output: s.output }, s.output);
  });
  const escalate = options.escalate;
  if ((options.retry?.attempts ?? 1) > 1)
    done('retried', 'retried', { kind: 'retried', output: first }, first);
  if (options.fallback !== undefined)
    done('fallback', 'fallback', { kind: 'fallback', output: first }, first);
  if (escalate) {
    const decision = (d: 'retry' | 'skip' | 'abort' | 'deadline', output: unknown) =>
      ({ kind: 'escalation', decision: d, output }) as const;
    done('escalation-retry', 'escalated: retry', decision('retry', first), first);
    done('escalation-skip', 'escalated: skip', decision('skip', null), null);
    failed('escalation-abort', 'escalated: abort', decision('abort', null), 'STEP_FAILED');
    if (escalate.onTimeout === 'skip')
      done('escalation-deadline', 'escalated: deadline', decision('deadline', null), null);
    else
      failed('escalation-deadline', 'escalated: deadline', decision('deadline', null), 'ESCALATION_TIMEOUT');
    return list;
  }
  failed('error', 'error', { kind: 'error' }, 'STEP_FAILED');
  if (options.timeoutMs !== undefined) failed('timeout', 'timeout', { kind: 'timeout' }, 'STEP_FAILED');
  return list;
}

/**
 * A child workflow step: the child ends `done` with a sample output, or fails.
 *
 * @example
 * ```ts
 * childOutcomes('pay', [{ output: { paid: true } }]).map((o) => o.label); // ['pay done', 'pay error']
 * ```
 */
export function childOutcomes(name: string, samples: readonly Sample[]): OutcomeEvent[] {
  const list: OutcomeEvent[] = samples.map((s, i) => ({
    id: `${name}:done#${i + 1}`,
    label: `${name} done${sampleLabel(samples, i)}`,
    step: name,
    target: 'child',
    outcome: { kind: 'done', output: s.output },
    event: { type: DONE + name, output: { status: 'done', output: s.output } },
  }));
  list.push({
    id: `${name}:error`,
    label: `${name} error`,
    step: name,
    target: 'child',
    outcome: { kind: 'error' },
    // The child's own failing step names the error (`name/inner`): only its code is known here.
    event: { type: DONE + name, output: { status: 'failed', error: childError(name) } },
  });
  return list;
}

/**
 * A `waitFor` step: its event arrives with a sample payload, or its deadline passes.
 *
 * @example
 * ```ts
 * waitOutcomes(approvalNode, [{ output: { by: 'ada' } }]).map((o) => o.label); // ['approval received', 'approval expired']
 * ```
 */
export function waitOutcomes(
  node: Extract<WorkflowNode, { kind: 'wait' }>,
  samples: readonly Sample[],
): OutcomeEvent[] {
  const list: OutcomeEvent[] = samples.map((s, i) => {
    const payload = isRecord(s.output) ? s.output : {};
    return {
      id: `${node.name}:received#${i + 1}`,
      label: `${node.name} received${sampleLabel(samples, i)}`,
      step: node.name,
      target: 'wait',
      outcome: { kind: 'received', payload },
      event: { ...payload, type: node.event },
    };
  });
  list.push({
    id: `${node.name}:expired`,
    label: `${node.name} expired`,
    step: node.name,
    target: 'wait',
    outcome: { kind: 'expired' },
    event: { type: DONE + node.name, output: null },
  });
  return list;
}

/**
 * The compensation of a finished step: its `compensate` agent succeeds or fails.
 *
 * @example
 * ```ts
 * compensationOutcomes('book').map((o) => o.label); // ['book compensated', 'book compensation error']
 * ```
 */
export function compensationOutcomes(step: string): OutcomeEvent[] {
  const path = `${step}/compensate`;
  return [
    {
      id: `${path}:done`,
      label: `${step} compensated`,
      step: path,
      target: 'compensation',
      outcome: { kind: 'done', output: null },
      event: { type: `${DONE}compensation`, output: null },
    },
    {
      id: `${path}:error`,
      label: `${step} compensation error`,
      step: path,
      target: 'compensation',
      outcome: { kind: 'error' },
      event: { type: `${ERROR}compensation`, error: stepError(path, 'STEP_FAILED', 'compensation error') },
    },
  ];
}

/** The failure a step actor reports, as the machine stores it (JSON-safe, like the real one). */
function stepError(stepPath: string, code: StepErrorCode, what: string): SerializedError {
  return failureOf(code, `Step '${stepPath}' failed (modelled outcome: ${what})`, { stepPath });
}

function childError(name: string): SerializedError {
  const { stepPath: _path, ...error } = stepError(name, 'STEP_FAILED', 'child failed');
  return error;
}

function sampleLabel(samples: readonly Sample[], i: number): string {
  const own = samples[i]?.label;
  if (own !== undefined) return ` (${own})`;
  return samples.length > 1 ? ` #${i + 1}` : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
