import type { AnyStateMachine } from 'xstate';
import { compileWorkflow } from '../machine/compile.js';
import type { WorkflowDefinition, WorkflowJSON, WorkflowSpec } from '../model/definition.js';
import { WorkflowDefinitionError } from '../model/errors.js';
import { checkSpec } from './checks.js';
import { specToJSON } from './json-write.js';
import { versionOf } from './version.js';

const DEFINITION: unique symbol = Symbol.for('flowstate.definition') as never;

/**
 * Checks a spec and wraps it as a {@link WorkflowDefinition}. Throws a `WorkflowDefinitionError` listing every
 * problem. The machine is compiled on first use, so building and round-tripping stay cheap.
 */
export function createDefinition<I, O, In = I>(spec: WorkflowSpec): WorkflowDefinition<I, O, In> {
  const problems = checkSpec(spec);
  if (problems.length > 0) throw new WorkflowDefinitionError(spec.id, problems);
  const version = versionOf(spec);
  let machine: AnyStateMachine | undefined;
  const definition = {
    id: spec.id,
    description: spec.options.description,
    spec,
    version,
    get machine(): AnyStateMachine {
      machine ??= compileWorkflow(spec, { version });
      return machine;
    },
    toJSON: (): WorkflowJSON => specToJSON(spec),
  };
  Object.defineProperty(definition, DEFINITION, { value: true });
  return Object.freeze(definition) as WorkflowDefinition<I, O, In>;
}

/** Whether a value is a definition made by this package (any copy of it). */
export function isWorkflowDefinition(value: unknown): value is WorkflowDefinition {
  return (
    typeof value === 'object' && value !== null && (value as { [DEFINITION]?: unknown })[DEFINITION] === true
  );
}
