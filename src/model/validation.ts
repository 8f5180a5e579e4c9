import type { ZodError, ZodType } from 'zod';
import type { ValidationIssue } from './errors.js';

/** Zod issues as Flowstate's plain {@link ValidationIssue}s (path, code, message). */
function issuesOf(error: ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
    code: issue.code,
    message: issue.message,
  }));
}

/** Parses with a schema: the parsed value, or the issues. */
export function parseWith<T>(
  schema: ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; issues: ValidationIssue[] } {
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: issuesOf(parsed.error) };
}
