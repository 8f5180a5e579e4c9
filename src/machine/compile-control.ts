import type { WorkflowNode } from '../model/definition.js';
import { failureOf } from '../model/errors.js';
import { type Update, update } from './actions.js';
import type { MachineContext } from './context.js';
import type { ErrorOf, FailRoute, NodeCompiler, StateConfig } from './node-compiler.js';
import { DECIDE, END } from './state-keys.js';

export function parallelState(
  compiler: NodeCompiler,
  node: Extract<WorkflowNode, { kind: 'parallel' }>,
  path: readonly string[],
  next: string,
  fail: FailRoute,
): StateConfig {
  const states: Record<string, StateConfig> = {};
  for (const [region, nodes] of Object.entries(node.regions)) {
    const regionPath = [...path, region];
    const regionFail = node.failFast
      ? fail
      : { target: compiler.absolute([...regionPath, END]), pendingKey: node.name };
    states[region] = compiler.sequence(nodes, regionPath, regionFail);
  }
  const meta = { flowstate: { kind: 'parallel', name: node.name, failFast: node.failFast } };
  if (node.failFast) return { type: 'parallel', meta, states, onDone: next };
  const guard = `${node.name}.regionFailed`;
  compiler.guards[guard] = ({ context }) => context.pending[node.name] !== undefined;
  return {
    type: 'parallel',
    meta,
    states,
    onDone: [
      {
        guard,
        ...compiler.failure(
          compiler.onError(undefined),
          node.name,
          next,
          fail,
          (_e, c) => c.pending[node.name],
        ),
      },
      { target: next },
    ],
  };
}

export function branchState(
  compiler: NodeCompiler,
  node: Extract<WorkflowNode, { kind: 'branch' }>,
  path: readonly string[],
  next: string,
  fail: FailRoute,
): StateConfig {
  const states: Record<string, StateConfig> = {};
  const always: StateConfig[] = [];
  const arm = (key: string, nodes: readonly WorkflowNode[], index: number | 'otherwise') => {
    const meta = { flowstate: { kind: 'arm', branch: node.name, arm: index } };
    const entry = compiler.learn((l, c) => l.chose(c.workflowId, c.pathPrefix + node.name, String(index)));
    states[key] =
      nodes.length === 0
        ? { type: 'final', meta, entry }
        : { meta, entry, ...compiler.sequence(nodes, [...path, key], fail), onDone: END };
  };
  node.arms.forEach((a, i) => {
    always.push({ guard: compiler.guard(a.when, `${node.name}.when${i}`), target: `when${i}` });
    arm(`when${i}`, a.nodes, i);
  });
  always.push({ target: 'otherwise' });
  arm('otherwise', node.otherwise ?? [], 'otherwise');
  states[DECIDE] = { always };
  states[END] = { type: 'final' };
  return {
    meta: { flowstate: { kind: 'branch', name: node.name } },
    initial: DECIDE,
    states,
    onDone: next,
  };
}

export function loopState(
  compiler: NodeCompiler,
  node: Extract<WorkflowNode, { kind: 'loop' }>,
  path: readonly string[],
  next: string,
  fail: FailRoute,
): StateConfig {
  const { name, maxIterations } = node;
  const exhausted = `${name}.exhausted`;
  compiler.guards[exhausted] = ({ context }) => (context.iterations[name] ?? 0) >= maxIterations;
  const limit: ErrorOf = (_e, c) =>
    failureOf(
      'STEP_FAILED',
      `Loop '${name}' reached maxIterations (${maxIterations}) before its condition held`,
      { stepPath: c.pathPrefix + name },
    );
  const count =
    (n: (c: MachineContext) => number): Update =>
    (c) => ({ iterations: { ...c.iterations, [name]: n(c) } });
  // The rounds a loop ran, when it ends and the workflow goes on.
  const rounds = compiler.learn((l, c) =>
    l.chose(c.workflowId, c.pathPrefix + name, String(c.iterations[name] ?? 0)),
  );
  return {
    meta: { flowstate: { kind: 'loop', name, maxIterations } },
    initial: 'round',
    entry: update(count(() => 0)),
    states: {
      round: {
        entry: update(count((c) => (c.iterations[name] ?? 0) + 1)),
        ...compiler.inLoop(name, () => compiler.sequence(node.body, [...path, 'round'], fail)),
        onDone: 'check',
      },
      check: {
        always: [
          { guard: compiler.guard(node.until, `${name}.until`), target: END, actions: rounds },
          node.onMaxIterations === 'fail'
            ? { guard: exhausted, ...compiler.failure(compiler.onError(undefined), name, END, fail, limit) }
            : { guard: exhausted, target: END, actions: rounds },
          { target: 'round' },
        ],
      },
      [END]: { type: 'final' },
    },
    onDone: next,
  };
}
