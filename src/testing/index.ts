/**
 * `flowstate/testing`: model-based tests of workflows. `workflowPaths` finds the test paths of a definition
 * (failure routes included), `testWorkflow` drives a real run along each one with scripted agents.
 */

export type { Outcome, TargetKind } from '../dsl/outcomes.js';
export { VirtualClock } from './clock.js';
export {
  type PathEnd,
  type PathStep,
  type WorkflowPath,
  type WorkflowPathsOptions,
  workflowPaths,
} from './paths.js';
export {
  PathMismatchError,
  runPath,
  type TestWorkflowOptions,
  testWorkflow,
  type WorkflowTest,
} from './run-path.js';
