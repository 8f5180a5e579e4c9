/**
 * The problem a `verify` check reports, in a file of its own: verify.ts runs the checks in verify-machine.ts and
 * verify-report.ts, and all three build these, so the type sits below them rather than in verify.ts.
 */
import type { IssuePath } from '../model/errors.js';

/**
 * The kinds of problem `verify` reports.
 *
 * @example
 * ```ts
 * const blocking: VerifyCode[] = ['unreachable-state', 'cannot-finish'];
 * ```
 */
export type VerifyCode =
  | 'unreachable-state'
  | 'cannot-finish'
  | 'never-succeeds'
  | 'no-deadline'
  | 'no-timeout'
  | 'unbounded-retry'
  | 'no-error-route'
  | 'no-default'
  | 'unbounded-loop'
  | 'unknown-result'
  | 'too-large';

/**
 * One problem: where it is (in the definition and in the machine), why, and what to do.
 *
 * @example
 * ```ts
 * for (const p of verify(definition).problems) console.log(`${p.severity} ${p.code} at ${p.state}: ${p.message}`);
 * ```
 */
export interface VerifyProblem {
  /** The kind of problem. */
  readonly code: VerifyCode;
  /** Errors make a definition unverified (the engine refuses it); warnings do not. */
  readonly severity: 'error' | 'warning';
  /** Where in the definition's JSON form: `['steps', 1, 'arms', 0]`. */
  readonly path: IssuePath;
  /** The machine state it concerns: `triage.when0`; `''` for the workflow as a whole. */
  readonly state: string;
  /** What is wrong, in a sentence. */
  readonly message: string;
  /** What to change in the definition to fix it. */
  readonly hint: string;
  /** A route that shows it, named like a test path: `scan done (critical) -> triage: when0 -> ...`. */
  readonly route?: string;
}
