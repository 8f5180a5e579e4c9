/**
 * What the CLI does with a template run stored under another version of its template (started by another release
 * of Flowstate): it leaves it untouched. Without a migration hook the engine would take such a run and mark it
 * failed (`DefinitionVersionError`), so a click meant to approve it, or a resume meant to finish it, would end it.
 */
import { templates } from '../../machines/index.js';
import { ConfigurationError } from '../model/errors.js';
import type { EngineOptions, StoredRunForMigration } from '../runtime/engine-types.js';

/** Why the run is left alone, naming both versions and what to do instead. */
export function otherVersionMessage(
  run: { readonly id: string; readonly workflow: string; readonly version: string },
  current: string,
): string {
  return (
    `Run '${run.id}' is of ${run.workflow} version ${run.version}; this Flowstate has version ${current}: ` +
    'nothing was applied; signal or resume it with the release that started it'
  );
}

/**
 * Migration hooks, one per built-in template, that refuse to take a run of another version: the engine hands it back
 * untouched, to be resumed by the release that started it (or one with a migration for it).
 */
export function untouchedOtherVersions(): NonNullable<EngineOptions['migrate']> {
  const refuse = ({ id, workflow, version, definition }: StoredRunForMigration): never => {
    throw new ConfigurationError(otherVersionMessage({ id, workflow, version }, definition.version), {
      workflowId: id,
    });
  };
  return Object.fromEntries(templates.map((t) => [t.id, refuse]));
}
