/**
 * Turns what the flow analysis found into `verify` problems: what never runs (the outermost such state), and
 * what never finishes (the innermost such container, naming the containers it takes down with it).
 */
import { isBelow, parentPath, ROOT_PATH, type SpecIndex } from './spec-index.js';
import type { VerifyProblem } from './verify-types.js';
import { type Flow, MAX_WORLDS } from './verify-world.js';

const RUNS = new Set(['step', 'wait', 'map', 'parallel', 'branch', 'loop', 'arm']);
const CONTAINERS = new Set(['arm', 'region', 'loop', 'branch', 'parallel']);

/**
 * The problems a flow shows: what never runs, and what never finishes (innermost first).
 *
 * @example
 * ```ts
 * const problems = flowProblems(indexSpec(definition.spec), analyzeFlow(definition.spec));
 * ```
 */
export function flowProblems(index: SpecIndex, flow: Flow): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const severity = flow.truncated ? 'warning' : 'error';
  const show = (route: readonly string[] | undefined) =>
    route && route.length > 0 ? route.join(' -> ') : 'the start';
  const infos = [...index.states.values()].sort((a, b) => a.statePath.length - b.statePath.length);
  const unreachable: string[] = [];
  for (const info of infos) {
    if (!RUNS.has(info.kind) || flow.reached.has(info.statePath)) continue;
    if (unreachable.some((p) => isBelow(info.statePath, p))) continue;
    unreachable.push(info.statePath);
    const parent = parentPath(info.statePath);
    problems.push({
      code: 'unreachable-state',
      severity,
      path: info.specPath,
      state: info.statePath,
      message: `${describe(info)} can never run`,
      hint:
        info.kind === 'arm'
          ? 'its guard never holds when the branch decides: an arm before it always wins, or it reads a result no step before it produces'
          : 'every route to it ends or fails before it: check the guards, loops and steps before it',
      route: `${show(flow.reached.get(parent))} -> (never ${info.name})`,
    });
  }
  const root = { kind: 'workflow', name: 'the workflow', statePath: ROOT_PATH, specPath: [] } as const;
  const stuck = [root, ...infos.filter((i) => CONTAINERS.has(i.kind))]
    .filter((i) => flow.reached.has(i.statePath) && !flow.finished.has(i.statePath))
    .sort((a, b) => b.statePath.length - a.statePath.length);
  const reported: string[] = [];
  for (const info of stuck) {
    if (reported.some((p) => isBelow(p, info.statePath))) continue;
    reported.push(info.statePath);
    const outer = stuck.filter((o) => isBelow(info.statePath, o.statePath)).map(describe);
    const either =
      outer.length > 0
        ? ` (so ${outer.join(', ')} never ${outer.length === 1 ? 'finishes' : 'finish'} either)`
        : '';
    problems.push({
      code: info === root ? 'never-succeeds' : 'cannot-finish',
      severity,
      path: info.specPath,
      state: info.statePath,
      message:
        info === root
          ? 'The workflow can never end `done`: every route fails'
          : `${describe(info)} never finishes: every route through it fails${either}`,
      hint: 'a loop whose `until` never holds with onMaxIterations: fail, or a step that always fails, is the usual cause',
      route: show(flow.failures.get(info.statePath)),
    });
  }
  if (flow.truncated) {
    problems.push({
      code: 'too-large',
      severity: 'warning',
      path: [],
      state: ROOT_PATH,
      message: `More than ${MAX_WORLDS} combinations of results at one point: reachability findings are warnings only`,
      hint: 'fewer data-path guards on the same steps, or child workflows, keep the analysis exact',
    });
  }
  return problems;
}

function describe(info: { readonly kind: string; readonly name: string }): string {
  if (info.kind === 'workflow') return 'the workflow';
  return `${info.kind} '${info.name}'`;
}
