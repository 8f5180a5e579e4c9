/**
 * The keys a step's options may have, for definitions that do not come through the JSON form's zod schema (the
 * builder, a spec made by hand). The JSON form refuses an unknown key (`z.strictObject`) and TypeScript refuses one
 * in an object literal; a builder called from JavaScript, or with options held in a variable, would drop a typo
 * such as `retires: 3` without a word. These lists are the same as the JSON schemas' keys
 * (test/unit/dsl-option-keys.test.ts holds them equal) and kept here, zod-free: the package's root never loads zod.
 */
import type { EscalationPolicy, RetryPolicy, StepOptions } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';

/** Every key of `T`, listed once: a key missing from the list, or one `T` lacks, does not compile. */
type AllKeys<T> = readonly (keyof T & string)[] & { readonly length: KeyCount<T> };
type KeyCount<T> = UnionLength<keyof T & string>;
type UnionLength<U, N extends unknown[] = []> = [U] extends [never]
  ? N['length']
  : UnionLength<Exclude<U, LastOf<U>>, [...N, unknown]>;
type LastOf<U> = (U extends unknown ? (x: () => U) => void : never) extends (x: infer F) => void
  ? F extends () => infer L
    ? L
    : never
  : never;

/** The keys of {@link StepOptions}, in the order the docs list them. */
export const STEP_OPTION_KEYS = [
  'agent',
  'workflow',
  'input',
  'retry',
  'timeoutMs',
  'queue',
  'fallback',
  'compensate',
  'escalate',
  'expectedMs',
  'onError',
  'description',
] as const satisfies AllKeys<StepOptions>;

/** The keys of a {@link RetryPolicy}. */
export const RETRY_POLICY_KEYS = [
  'attempts',
  'backoff',
  'initialMs',
  'maxMs',
  'jitter',
  'retryOn',
] as const satisfies AllKeys<RetryPolicy>;

/** The keys of an {@link EscalationPolicy}. */
export const ESCALATION_POLICY_KEYS = [
  'to',
  'timeoutMs',
  'onTimeout',
] as const satisfies AllKeys<EscalationPolicy>;

/** Reports a problem of a definition (see `checkSpec`). */
type Report = (code: string, path: IssuePath, message: string) => void;

/**
 * Reports each key of a step's options (and of its `retry` and `escalate` policies) that no option has, with the
 * JSON form's code (`unrecognized_keys`) and path, naming the step (`step 'load'`, or a map's `map 'each''s step`)
 * and the known keys.
 */
export function checkOptionKeys(options: StepOptions, path: IssuePath, step: string, report: Report): void {
  unknownKeys(options, STEP_OPTION_KEYS, path, `the options of ${step}`, report);
  if (isObject(options.retry))
    unknownKeys(options.retry, RETRY_POLICY_KEYS, [...path, 'retry'], `the retry policy of ${step}`, report);
  if (isObject(options.escalate))
    unknownKeys(
      options.escalate,
      ESCALATION_POLICY_KEYS,
      [...path, 'escalate'],
      `the escalation of ${step}`,
      report,
    );
}

function unknownKeys(
  value: object,
  known: readonly string[],
  path: IssuePath,
  what: string,
  report: Report,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    report(
      'unrecognized_keys',
      [...path, key],
      `Unknown key '${key}' in ${what} (known: ${known.join(', ')})`,
    );
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
