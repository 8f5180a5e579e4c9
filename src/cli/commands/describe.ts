/**
 * `flowstate describe <template>`: a template's steps, as a tree with their agents and policies, and a Mermaid
 * `stateDiagram-v2` diagram of the workflow.
 */
import type { RetryPolicy, StepOptions, WorkflowNode } from '../../model/definition.js';
import type { CliIO } from '../demo-command.js';
import { toMermaid } from '../mermaid.js';
import { fail } from '../paths-command.js';
import { requireTemplate } from './execute.js';

/**
 * Prints a template's description, example input, steps and diagram; returns the exit code (2 for an unknown
 * template).
 *
 * @example
 * ```ts
 * const code = runDescribe('migration', { out: console.log, err: console.error });
 * ```
 */
export function runDescribe(id: string, io: CliIO): number {
  try {
    const template = requireTemplate(id);
    const { definition } = template;
    io.out(`${definition.id}: ${definition.description ?? template.description}`);
    io.out('');
    io.out(`Example input: ${JSON.stringify(template.exampleInput)}`);
    io.out('');
    io.out('Steps:');
    for (const line of stepLines(definition.spec.nodes, '  ')) io.out(line);
    io.out('');
    io.out('```mermaid');
    io.out(toMermaid(definition));
    io.out('```');
    return 0;
  } catch (error) {
    return fail(error, io);
  }
}

/** One line per node, indented by nesting. */
function stepLines(nodes: readonly WorkflowNode[], indent: string): string[] {
  const inner = `${indent}  `;
  return nodes.flatMap((node): string[] => {
    switch (node.kind) {
      case 'step':
        return [`${indent}${node.name}: ${stepText(node.options)}`];
      case 'map': {
        const items = typeof node.items === 'string' ? node.items : 'a mapping';
        return [
          `${indent}${node.name}: for each of ${items}, ${node.concurrency} at a time: ${stepText(node.step)}`,
        ];
      }
      case 'wait':
        return [
          `${indent}${node.name}: waits for the event '${node.event}' (${node.timeoutMs} ms, then ${node.onTimeout})`,
        ];
      case 'parallel':
        return [
          `${indent}${node.name}: in parallel`,
          ...Object.entries(node.regions).flatMap(([region, inside]) => [
            `${inner}${region}:`,
            ...stepLines(inside, `${inner}  `),
          ]),
        ];
      case 'loop':
        return [
          `${indent}${node.name}: repeat until ${guardText(node.until)}, at most ${node.maxIterations} rounds`,
          ...stepLines(node.body, inner),
        ];
      case 'branch':
        return [
          `${indent}${node.name}: branch`,
          ...node.arms.flatMap((arm) => [
            `${inner}when ${guardText(arm.when)}:`,
            ...(arm.nodes.length === 0 ? [`${inner}  (nothing)`] : stepLines(arm.nodes, `${inner}  `)),
          ]),
          `${inner}otherwise:`,
          ...(node.otherwise && node.otherwise.length > 0
            ? stepLines(node.otherwise, `${inner}  `)
            : [`${inner}  (nothing)`]),
        ];
    }
    return [];
  });
}

function guardText(guard: unknown): string {
  return typeof guard === 'string' ? guard : 'a guard function';
}

/** `agent — description [retry 3×, timeout 30 s, escalates to human, compensated by x]`. */
function stepText(options: StepOptions): string {
  const runs = options.workflow ? `workflow ${options.workflow.id}` : (options.agent ?? '?');
  const notes = [
    options.retry ? retryText(options.retry) : undefined,
    options.timeoutMs !== undefined ? `timeout ${seconds(options.timeoutMs)}` : undefined,
    options.fallback ? `fallback ${options.fallback}` : undefined,
    options.escalate ? `escalates to ${options.escalate.to}` : undefined,
    options.compensate ? `compensated by ${options.compensate}` : undefined,
    options.onError && options.onError !== 'fail' ? `on error: ${options.onError}` : undefined,
  ].filter((n) => n !== undefined);
  const description = options.description ? ` — ${options.description}` : '';
  return `${runs}${description}${notes.length > 0 ? ` [${notes.join(', ')}]` : ''}`;
}

function retryText(retry: RetryPolicy): string {
  return `${retry.attempts} attempts`;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
