/**
 * The format of stored snapshots, numbered so that a build refuses a snapshot written in a format newer than it
 * reads, instead of restoring it wrongly. Builds before numbering wrote snapshots an even older build misread (the
 * run's input as a marker, maps whose ended results live only in the journal) and could not tell: those builds,
 * and snapshots without the field, are format 1.
 *
 * Every checkpoint writes the field first in its snapshot's JSON (`{"flowstateFormat":3,...}`), so a restore reads
 * it from the text's opening before taking the run's lease; a restore reads it again from the parsed snapshot, which
 * is what decides. Keep the field first and its name unchanged in every later build: older builds look for it there.
 */
import { CorruptRunError, StoredFormatError } from '../model/errors.js';

/**
 * The format this build writes and the newest it reads.
 *
 * Bump it with any change to what a checkpoint stores that an older build would misread (restore without an error
 * but wrongly): a new marker, a value moved out of the snapshot (into the record, the journal), a field whose meaning
 * changed. A change older builds read correctly (a field they ignore and need not know) keeps the number.
 * History: 1, before numbering; 2, the field itself (input markers, maps' ended results in the journal); 3, flat
 * state values (the top-level nodes at the root, `'fetch'` not `{ running: 'fetch' }`; the root's own states
 * `__compensating`, `__done`, ...: a format-2 build would misread them, this one maps format 2's on restore).
 */
export const STORED_FORMAT = 3;

/** The format of a snapshot stored without the field: everything written before formats were numbered. */
export const UNNUMBERED_FORMAT = 1;

/** The top-level field of a stored snapshot that holds its format (XState ignores it; it is taken off on restore). */
export const FORMAT_FIELD = 'flowstateFormat';

const OPENING = `{"${FORMAT_FIELD}":`;

/**
 * A persisted snapshot with this build's format in it, as its first field, and `more` fields after the snapshot's:
 * one shallow copy of the snapshot's top level (a few keys), no extra pass over its JSON.
 */
export function withStoredFormat(persisted: object, more?: Readonly<Record<string, unknown>>): object {
  return { [FORMAT_FIELD]: STORED_FORMAT, ...persisted, ...more };
}

/**
 * The format a stored snapshot's text opens with, read without parsing it (a snapshot of many items is large);
 * `undefined` when the text does not open with a well-formed format field (an unnumbered snapshot, or one for the
 * parsed check to judge).
 */
export function formatAtStart(text: string): number | undefined {
  if (!text.startsWith(OPENING)) return undefined;
  const digits = /^[1-9]\d{0,8}(?=[,}])/.exec(text.slice(OPENING.length, OPENING.length + 10));
  return digits ? Number(digits[0]) : undefined;
}

/**
 * Checks the format of a snapshot parsed from the store, then takes the field off it (a migration hook and XState
 * see the snapshot as before), and returns the format. Throws {@link StoredFormatError} when it is newer than this build reads, and
 * {@link CorruptRunError} when the field is not a format (a positive integer): neither is a reason to touch the run.
 */
export function checkStoredFormat(snapshot: unknown, runId: string): number {
  if (typeof snapshot !== 'object' || snapshot === null || !(FORMAT_FIELD in snapshot))
    return UNNUMBERED_FORMAT;
  const format = (snapshot as Record<string, unknown>)[FORMAT_FIELD];
  if (typeof format !== 'number' || !Number.isSafeInteger(format) || format < UNNUMBERED_FORMAT)
    throw new CorruptRunError(
      runId,
      new Error(`Stored snapshot format ${JSON.stringify(format)} is not a format`),
    );
  if (format > STORED_FORMAT) throw new StoredFormatError(runId, format, STORED_FORMAT);
  delete (snapshot as Record<string, unknown>)[FORMAT_FIELD];
  return format;
}

/** The first format whose compiled machines are flat (no `running` state around the top-level nodes). */
export const FLAT_FORMAT = 3;

/** Throws {@link StoredFormatError} when a stored snapshot's text opens with a format newer than this build reads. */
export function refuseNewerAtStart(text: string, runId: string): void {
  const format = formatAtStart(text);
  if (format !== undefined && format > STORED_FORMAT)
    throw new StoredFormatError(runId, format, STORED_FORMAT);
}
