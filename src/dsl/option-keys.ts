/**
 * The keys each options object of the builder may have, for definitions that do not come through the JSON form's
 * zod schema (the builder, a spec made by hand). The JSON form refuses an unknown key (`z.strictObject`) and
 * TypeScript refuses one in an object literal; a builder called from JavaScript, or with options held in a
 * variable, would drop a typo such as `retires: 3` or `concurency: 4` without a word. Each list is held equal to
 * its TypeScript type here (a missing or extra key does not compile) and to the JSON schema's keys where the JSON
 * form has a counterpart (test/unit/dsl-option-keys.test.ts); kept here, zod-free: the package's root never loads
 * zod. Steps, retry and escalation policies are checked here; the others in `builder-options.ts`.
 */
import type { EscalationPolicy, RetryPolicy, StepOptions, WorkflowOptions } from '../model/definition.js';
import type { IssuePath } from '../model/errors.js';

/**
 * Every key of `T`, listed once: a key missing from the list, or one `T` lacks, does not compile. The lists of the
 * builder's own option types are checked in test/unit/dsl-option-keys.test.ts (this file may not import the
 * builder, which imports it through the checks).
 */
export type AllKeys<T> = readonly (keyof T & string)[] & { readonly length: KeyCount<T> };
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

/** The keys of `.map(...)`'s options (`MapOptions`); its `step` has {@link STEP_OPTION_KEYS}. */
export const MAP_OPTION_KEYS = ['items', 'step', 'concurrency'] as const;

/** The keys of `.loop(...)`'s options (`LoopOptions`). */
export const LOOP_OPTION_KEYS = ['until', 'maxIterations', 'onMaxIterations'] as const;

/** The keys of `.waitFor(...)`'s options (`WaitForOptions`). */
export const WAIT_FOR_OPTION_KEYS = ['event', 'schema', 'timeoutMs', 'onTimeout'] as const;

/** The keys of `.parallel(...)`'s options. */
export const PARALLEL_OPTION_KEYS = ['failFast'] as const;

/** The keys of a guarded arm of `.branch(...)`. */
export const WHEN_ARM_KEYS = ['when', 'then'] as const;

/** The keys of the `otherwise` arm of `.branch(...)`. */
export const OTHERWISE_ARM_KEYS = ['otherwise'] as const;

/** The keys of `workflow(id, options)`'s options ({@link WorkflowOptions}). */
export const WORKFLOW_OPTION_KEYS = [
  'input',
  'output',
  'result',
  'description',
  'onError',
  'guards',
  'secrets',
] as const satisfies AllKeys<WorkflowOptions>;

/** Reports a problem of a definition (see `checkSpec`). */
export type Report = (code: string, path: IssuePath, message: string) => void;

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

/**
 * Reports each own key of `value` that `known` lacks, at `path` plus the key, with the JSON form's code: the message
 * names where it is (`what`, such as `the options of map 'm'`) and the known keys, so a typo reads as one.
 */
export function unknownKeys(
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

/** Whether `value` is an object whose keys can be checked (JavaScript callers may pass anything). */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
