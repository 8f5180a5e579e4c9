/**
 * A Mermaid `stateDiagram-v2` diagram of a workflow, generated from its definition's spec (the plain tree the
 * machine is compiled from): steps are states, parallel regions are concurrent regions of a composite state, a
 * branch is a `<<choice>>` whose arms join again, a loop is a composite state with a back edge, and a map is one
 * state naming what it maps over.
 */
import type {
  AnyWorkflowDefinition,
  GuardRef,
  Mapping,
  StepOptions,
  WorkflowNode,
} from '../model/definition.js';

/** An edge still to be drawn to whatever comes next: from a state, with an optional label. */
interface Pending {
  readonly from: string;
  readonly label?: string;
}

/**
 * Renders a definition as Mermaid `stateDiagram-v2` text (without the surrounding ```` ```mermaid ```` fence).
 *
 * @example
 * ```ts
 * console.log(['```mermaid', toMermaid(definition), '```'].join('\n'));
 * ```
 */
export function toMermaid(definition: AnyWorkflowDefinition): string {
  const lines = ['stateDiagram-v2'];
  const used = new Set<string>();
  const id = (name: string): string => {
    const base = name.replace(/\W/g, '_') || 'state';
    let candidate = base;
    for (let n = 2; used.has(candidate); n++) candidate = `${base}_${n}`;
    used.add(candidate);
    return candidate;
  };

  const edge = (indent: string, p: Pending, to: string) => {
    lines.push(`${indent}${p.from} --> ${to}${p.label === undefined ? '' : ` : ${text(p.label)}`}`);
  };

  const sequence = (
    nodes: readonly WorkflowNode[],
    pending: readonly Pending[],
    indent: string,
  ): Pending[] => {
    let open = [...pending];
    for (const node of nodes) open = emit(node, open, indent);
    return open;
  };

  const emit = (node: WorkflowNode, pending: readonly Pending[], indent: string): Pending[] => {
    const me = id(node.name);
    const inner = `${indent}  `;
    switch (node.kind) {
      case 'step':
        lines.push(`${indent}${me} : ${text(stepLabel(node.options))}`);
        break;
      case 'map':
        lines.push(
          `${indent}${me} : ${text(`${stepLabel(node.step)} for each of ${mappingLabel(node.items)}, ${node.concurrency} at a time`)}`,
        );
        break;
      case 'wait':
        lines.push(`${indent}${me} : ${text(`waits for event ${node.event}`)}`);
        break;
      case 'parallel': {
        lines.push(`${indent}state ${me} {`);
        Object.values(node.regions).forEach((region, i) => {
          if (i > 0) lines.push(`${inner}--`);
          for (const p of sequence(region, [{ from: '[*]' }], inner)) edge(inner, p, '[*]');
        });
        lines.push(`${indent}}`);
        break;
      }
      case 'loop': {
        lines.push(`${indent}state ${me} {`);
        for (const p of sequence(node.body, [{ from: '[*]' }], inner)) edge(inner, p, '[*]');
        lines.push(`${indent}}`);
        for (const p of pending) edge(indent, p, me);
        edge(
          indent,
          { from: me, label: `until not ${guardLabel(node.until)}, at most ${node.maxIterations}` },
          me,
        );
        return [{ from: me, label: `until ${guardLabel(node.until)}` }];
      }
      case 'branch': {
        lines.push(`${indent}state ${me} <<choice>>`);
        for (const p of pending) edge(indent, p, me);
        const exits: Pending[] = [];
        for (const arm of node.arms) {
          exits.push(...sequence(arm.nodes, [{ from: me, label: guardLabel(arm.when) }], indent));
        }
        exits.push(...sequence(node.otherwise ?? [], [{ from: me, label: 'otherwise' }], indent));
        return exits;
      }
    }
    for (const p of pending) edge(indent, p, me);
    return [{ from: me }];
  };

  for (const p of sequence(definition.spec.nodes, [{ from: '[*]' }], '  ')) edge('  ', p, '[*]');
  return lines.join('\n');
}

/** What a step runs: its agent, or the child workflow. */
function stepLabel(options: StepOptions): string {
  if (options.workflow) return `workflow ${options.workflow.id}`;
  return options.agent ?? 'step';
}

function guardLabel(guard: GuardRef): string {
  return typeof guard === 'string' ? guard : 'a guard function';
}

function mappingLabel(mapping: Mapping): string {
  return typeof mapping === 'string' ? mapping : 'a mapping function';
}

/** Mermaid ends a label at a newline and reads `;` and `:` specially: keep labels on one plain line. */
function text(label: string): string {
  return label.replace(/[\n\r;:]+/g, ' ').trim();
}
