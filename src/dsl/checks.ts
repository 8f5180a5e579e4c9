import type { GuardRef, StepOptions, WorkflowNode, WorkflowSpec } from '../model/definition.js';
import type { DefinitionProblem, IssuePath } from '../model/errors.js';
import { checkGivenOptions, checkWorkflowOptionKeys } from './builder-options.js';
import { checkResultPaths } from './check-results.js';
import { isName, isReservedEventType } from './names.js';
import { checkOptionKeys } from './option-keys.js';

/** Loops, retries and fan-outs above these bounds are refused: they are mistakes, not workloads. */
const LIMITS = {
  maxIterations: 10_000,
  attempts: 100,
  concurrency: 10_000,
  delayMs: 2 ** 53,
} as const;

/**
 * The static checks of a definition: every problem with its path (paths follow the JSON form: `steps`,
 * `regions`, `arms`, `otherwise`, `step`). Names of guards, mappings and agents that the engine provides are
 * checked when the definition is bound to an engine.
 */
export function checkSpec(spec: WorkflowSpec): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const report = (code: string, path: IssuePath, message: string) => problems.push({ code, path, message });
  if (typeof spec.id !== 'string' || !isName(spec.id)) {
    report('invalid-name', ['id'], nameMessage('workflow id', spec.id));
  }
  const seen = new Map<string, IssuePath>();
  const visitSequence = (nodes: readonly WorkflowNode[], path: IssuePath) => {
    nodes.forEach((node, i) => {
      visitNode(node, [...path, i]);
    });
  };

  const visitNode = (node: WorkflowNode, path: IssuePath): void => {
    if (!isName(node.name)) report('invalid-name', [...path, 'name'], nameMessage('step name', node.name));
    const earlier = seen.get(node.name);
    if (earlier) {
      report(
        'duplicate-name',
        [...path, 'name'],
        `The name '${node.name}' is already used at ${earlier.join('.')}; results are keyed by name, so names must be unique in a workflow`,
      );
    } else seen.set(node.name, path);
    checkGivenOptions(node, path, report);
    switch (node.kind) {
      case 'step':
        checkStep(node.options, path, report);
        checkOptionKeys(node.options, path, `step '${node.name}'`, report);
        return;
      case 'parallel': {
        const regions = Object.entries(node.regions);
        if (regions.length === 0)
          report('empty-parallel', [...path, 'regions'], 'A parallel step needs at least one region');
        for (const [region, nodes] of regions) {
          if (!isName(region))
            report('invalid-name', [...path, 'regions', region], nameMessage('region name', region));
          if (nodes.length === 0)
            report('empty-region', [...path, 'regions', region], `Region '${region}' has no steps`);
          visitSequence(nodes, [...path, 'regions', region]);
        }
        return;
      }
      case 'branch': {
        if (node.arms.length === 0)
          report('empty-branch', [...path, 'arms'], 'A branch needs at least one `when` arm');
        if (node.otherwise === undefined) {
          report(
            'missing-otherwise',
            [...path, 'otherwise'],
            'A branch needs an `otherwise` arm, so that it never gets stuck when no guard holds',
          );
        }
        const guards = new Map<string, number>();
        node.arms.forEach((arm, i) => {
          checkGuard(arm.when, [...path, 'arms', i, 'when'], report);
          if (typeof arm.when === 'string') {
            const first = guards.get(arm.when);
            if (first !== undefined) {
              report(
                'unreachable-arm',
                [...path, 'arms', i],
                `This arm can never run: arm ${first} tests the same guard '${arm.when}' first`,
              );
            } else guards.set(arm.when, i);
          }
          visitSequence(arm.nodes, [...path, 'arms', i, 'steps']);
        });
        if (node.otherwise) visitSequence(node.otherwise, [...path, 'otherwise']);
        return;
      }
      case 'map':
        if (node.items === undefined) report('missing-items', [...path, 'items'], 'A map needs `items`');
        if (!isIntegerIn(node.concurrency, 1, LIMITS.concurrency)) {
          report(
            'invalid-concurrency',
            [...path, 'concurrency'],
            `Expected \`concurrency\` to be an integer from 1 to ${LIMITS.concurrency}, got ${show(node.concurrency)}`,
          );
        }
        checkStep(node.step, [...path, 'step'], report);
        checkOptionKeys(node.step, [...path, 'step'], `the step of map '${node.name}'`, report);
        return;
      case 'loop':
        if (node.body.length === 0)
          report('empty-loop', [...path, 'steps'], 'A loop needs at least one step');
        checkGuard(node.until, [...path, 'until'], report);
        if (!isIntegerIn(node.maxIterations, 1, LIMITS.maxIterations)) {
          report(
            'unbounded-loop',
            [...path, 'maxIterations'],
            `Expected \`maxIterations\` to be an integer from 1 to ${LIMITS.maxIterations}, got ${show(node.maxIterations)}: every loop needs a bound`,
          );
        }
        visitSequence(node.body, [...path, 'steps']);
        return;
      case 'wait':
        if (typeof node.event !== 'string' || node.event.length === 0 || isReservedEventType(node.event)) {
          report(
            'invalid-event',
            [...path, 'event'],
            `Expected \`event\` to be a non-empty event type outside the reserved 'xstate.' and 'flowstate.' prefixes, got ${show(node.event)}`,
          );
        }
        checkDelay(node.timeoutMs, [...path, 'timeoutMs'], 'a wait', report);
        return;
    }
  };

  checkWorkflowOptionKeys(spec.options, spec.id, report);
  (spec.options.secrets ?? []).forEach((path, i) => {
    if (typeof path !== 'string' || !/^input(\.[A-Za-z0-9_$-]+)+$/.test(path)) {
      report(
        'invalid-secret',
        ['secrets', i],
        `Expected a secret to be a path into the input such as 'input.password', got ${show(path)}`,
      );
    }
  });
  visitSequence(spec.nodes, ['steps']);
  if (spec.nodes.length === 0) report('empty-workflow', ['steps'], 'A workflow needs at least one step');
  checkResultPaths(spec, report);
  return problems;
}

type Report = (code: string, path: IssuePath, message: string) => void;

function checkStep(options: StepOptions, path: IssuePath, report: Report): void {
  const hasAgent = typeof options.agent === 'string' && options.agent.length > 0;
  for (const role of ['agent', 'fallback', 'compensate', 'queue'] as const) {
    const name = options[role];
    if (typeof name === 'string' && name.length > 0 && !isName(name))
      report('invalid-name', [...path, role], nameMessage(`${role} name`, name));
  }
  const hasWorkflow = options.workflow !== undefined;
  if (hasAgent === hasWorkflow) {
    report(
      'agent-or-workflow',
      [...path, 'agent'],
      'Give exactly one of `agent` (a registered agent name) and `workflow` (a child definition)',
    );
  }
  const retry = options.retry;
  if (retry) {
    // Attempts count the first one: below 1 (or not whole) the step could never call its agent, a different
    // mistake from too many attempts, so it has a code of its own.
    const attempts: unknown = retry.attempts;
    if (
      typeof attempts !== 'number' ||
      !(attempts >= 1) ||
      (Number.isFinite(attempts) && !Number.isInteger(attempts))
    ) {
      report(
        'invalid-attempts',
        [...path, 'retry', 'attempts'],
        `Expected \`attempts\` to be a whole number of at least 1 (the first attempt counts), got ${show(attempts)}`,
      );
    } else if (attempts > LIMITS.attempts) {
      report(
        'unbounded-retry',
        [...path, 'retry', 'attempts'],
        `Expected \`attempts\` to be at most ${LIMITS.attempts}, got ${show(attempts)}: every retry policy needs a bound`,
      );
    }
    if (retry.initialMs !== undefined)
      checkDelay(retry.initialMs, [...path, 'retry', 'initialMs'], 'a backoff', report, true);
    if (retry.maxMs !== undefined)
      checkDelay(retry.maxMs, [...path, 'retry', 'maxMs'], 'a backoff', report, true);
    if (
      retry.retryOn !== undefined &&
      !(
        Array.isArray(retry.retryOn) &&
        retry.retryOn.every((code: unknown) => typeof code === 'string' && code.length > 0)
      )
    ) {
      // A predicate would not survive a restart: the retry policy is part of each step actor's persisted input.
      report(
        'invalid-retry-on',
        [...path, 'retry', 'retryOn'],
        `Expected \`retryOn\` to be a list of error codes or names such as ['ETIMEDOUT'], got ${show(retry.retryOn)}: a function cannot be persisted with the run; let the agent mark an error \`retryable: false\` instead`,
      );
    }
    if (retry.jitter !== undefined && !(retry.jitter >= 0 && retry.jitter <= 1)) {
      report(
        'invalid-jitter',
        [...path, 'retry', 'jitter'],
        `Expected \`jitter\` to be a number from 0 to 1, got ${show(retry.jitter)}`,
      );
    }
  }
  if (options.timeoutMs !== undefined)
    checkDelay(options.timeoutMs, [...path, 'timeoutMs'], 'a step timeout', report);
  if (options.expectedMs !== undefined)
    checkDelay(options.expectedMs, [...path, 'expectedMs'], 'an expected duration', report, true);
  if (options.escalate) {
    if (typeof options.escalate.to !== 'string' || options.escalate.to.length === 0) {
      report(
        'invalid-escalation',
        [...path, 'escalate', 'to'],
        "Expected `to` to be 'human' or a supervisor agent's name",
      );
    }
    checkDelay(options.escalate.timeoutMs, [...path, 'escalate', 'timeoutMs'], 'an escalation', report);
  }
}

function checkGuard(ref: GuardRef, path: IssuePath, report: Report): void {
  if (typeof ref === 'function') return;
  if (typeof ref !== 'string' || ref.length === 0) {
    report('invalid-guard', path, `Expected a guard function, a guard name or a data path, got ${show(ref)}`);
  }
}

function checkDelay(value: unknown, path: IssuePath, what: string, report: Report, zeroOk = false): void {
  const min = zeroOk ? 0 : 1;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > LIMITS.delayMs) {
    report(
      'invalid-delay',
      path,
      `Expected a finite number of milliseconds from ${min} to ${LIMITS.delayMs} for ${what}, got ${show(value)}${what === 'a wait' ? ': a wait without a deadline can hang forever' : ''}`,
    );
  }
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function nameMessage(what: string, value: unknown): string {
  return `Expected the ${what} to start with a letter and hold only letters, digits, '_' or '-' (at most 128), got ${show(value)}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null)
    return String(value);
  return typeof value;
}
