/** Naming rules shared by the builder, the JSON form and the checks. */

/** Step, region and workflow names: a letter, then letters, digits, `_` or `-` (they become XState state keys). */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;

/** Keys that reach `Object.prototype` when used as property names: never valid names. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']);

/** Whether a string is a valid step, region, workflow or agent name. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value) && !FORBIDDEN.has(value);
}

/** A data path into the workflow context: `input`, `results`, or one of them followed by `.key` segments. */
export const DATA_PATH_PATTERN = /^(input|results)(\.[A-Za-z0-9_$-]+)*$/;

/** Whether a string reference is a data path (else it names a registered guard or mapping). */
export function isDataPath(ref: string): boolean {
  return DATA_PATH_PATTERN.test(ref);
}

/** Event types a `waitFor` may not use, because XState or Flowstate own them. */
export function isReservedEventType(type: string): boolean {
  return type.startsWith('xstate.') || type.startsWith('flowstate.') || type === '*';
}
