/**
 * What the schema analysis reports: findings with a severity, and the score they add up to. Plain JSON, validated
 * with zod wherever it crosses a step.
 */
import { z } from 'zod';

/** How bad a finding is. `critical` findings send the workflow down the remediation branch. */
export const SeveritySchema = z.enum(['critical', 'warning', 'info']);
/** A finding's severity. */
export type Severity = z.infer<typeof SeveritySchema>;

/** One problem found in the schema. */
export const FindingSchema = z.object({
  /** Stable: `<kind>:<table>[.<target>]`, so runs can be compared (`*` as the table: the whole schema). */
  id: z.string(),
  kind: z.enum([
    'missing-fk-index',
    'duplicate-index',
    'redundant-index',
    'unused-index',
    'missing-primary-key',
    'nullable-foreign-key',
    'naming',
    'no-usage-data',
    'int-key-overflow',
    'timestamp-without-time-zone',
    'float-money',
  ]),
  severity: SeveritySchema,
  table: z.string(),
  /** The column(s), index or identifier concerned. */
  target: z.string().optional(),
  message: z.string(),
  /** DDL that fixes it, when there is an obvious one (identifiers quoted). */
  fix: z.string().optional(),
  /**
   * How the fix is tried without touching the live table: its DDL on a scratch copy of `copy`, or (a drop) a
   * check that the index `exists`. In a transaction that rolls back, either way.
   */
  trial: z
    .object({
      copy: z.string().optional(),
      statements: z.array(z.string()).optional(),
      exists: z.string().optional(),
    })
    .optional(),
});
/** A finding of the schema analysis. */
export type Finding = z.infer<typeof FindingSchema>;

/** What each analysis region returns. */
export const FindingsSchema = z.object({ findings: z.array(FindingSchema) });
/** The output of one analysis region. */
export type Findings = z.infer<typeof FindingsSchema>;

/** Points a finding takes off the score of 100. */
const SEVERITY_WEIGHT: Readonly<Record<Severity, number>> = { critical: 15, warning: 5, info: 1 };

const ORDER: Readonly<Record<Severity, number>> = { critical: 0, warning: 1, info: 2 };

/** Findings ordered by severity, then id (a stable order for reports and tests). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || a.id.localeCompare(b.id));
}

/** The score (0 to 100) and its letter grade. */
export function score(findings: readonly Finding[]): { score: number; grade: 'A' | 'B' | 'C' | 'D' | 'F' } {
  const value = Math.max(0, 100 - findings.reduce((sum, f) => sum + SEVERITY_WEIGHT[f.severity], 0));
  const grade = value >= 90 ? 'A' : value >= 75 ? 'B' : value >= 60 ? 'C' : value >= 40 ? 'D' : 'F';
  return { score: value, grade };
}
