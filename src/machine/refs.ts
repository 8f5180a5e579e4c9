import type { WorkflowContext } from '../model/definition.js';
import { ConfigurationError } from '../model/errors.js';
import { isDataPath } from '../model/names.js';

/** A guard as the compiler holds it. */
export type GuardFn = (ctx: WorkflowContext) => boolean;
/** A mapping as the compiler holds it. */
export type MappingFn = (ctx: WorkflowContext) => unknown;

/** Reads a data path (`results.fetch.rows`) from a context, following own properties only. */
export function readPath(ctx: object, path: string): unknown {
  let value: unknown = ctx;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Turns a guard reference into a function: a data path tests truthiness, a name looks in the registry. */
export function resolveGuard(
  ref: ((ctx: WorkflowContext) => boolean) | string,
  guards: Readonly<Record<string, GuardFn>>,
): GuardFn {
  if (typeof ref === 'function') return ref;
  if (isDataPath(ref)) return (ctx) => Boolean(readPath(ctx, ref));
  if (Object.hasOwn(guards, ref)) return guards[ref] as GuardFn;
  return () => {
    throw new ConfigurationError(
      `No guard named '${ref}': register it with createEngine({ guards }) or the workflow's guards`,
    );
  };
}

/** Turns a mapping reference into a function: a data path reads the context, a name looks in the registry. */
export function resolveMapping(
  ref: ((ctx: WorkflowContext) => unknown) | string,
  mappings: Readonly<Record<string, MappingFn>>,
): MappingFn {
  if (typeof ref === 'function') return ref as MappingFn;
  if (isDataPath(ref)) return (ctx) => readPath(ctx, ref);
  if (Object.hasOwn(mappings, ref)) return mappings[ref] as MappingFn;
  return () => {
    throw new ConfigurationError(`No mapping named '${ref}': register it with createEngine({ mappings })`);
  };
}
