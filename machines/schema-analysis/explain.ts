/**
 * The schema analysis's explanation: the findings in plain language, most urgent first. Whoever writes it (the
 * templated default, an LLM, a user's agent), the findings stay the checks' own; the judge keeps only what cites
 * findings the analysis reported and names tables, columns and indexes the catalog has. A sentence or priority
 * naming anything else is dropped, and listed with its reason.
 */
import { z } from 'zod';
import type { Catalog } from '../lib/catalog.js';
import { type Finding, FindingSchema } from './findings.js';

/** What the `explain` step returns: a short summary and the findings to fix first, each with why. */
export const ExplanationDraftSchema = z.object({
  summary: z.string().max(4_000).describe('two to five plain sentences for the person who owns the database'),
  priorities: z
    .array(
      z.object({
        finding: z.string().describe('the id of a finding, exactly as listed'),
        why: z.string().max(1_000).describe('one or two sentences: the risk and the fix, in plain language'),
      }),
    )
    .max(50),
});
/** The explanation as its writer gave it. */
export type ExplanationDraft = z.infer<typeof ExplanationDraftSchema>;

/** The explanation in the report, after the judge. */
export const ExplanationSchema = z.object({
  summary: z.string(),
  priorities: z.array(
    z.object({
      finding: z.string(),
      severity: FindingSchema.shape.severity,
      table: z.string(),
      why: z.string(),
    }),
  ),
  /** What the judge took out: sentences or priorities citing findings or objects the analysis does not have. */
  dropped: z.array(z.object({ text: z.string(), reason: z.string() })),
});
/** The judged explanation. */
export type Explanation = z.infer<typeof ExplanationSchema>;

/** How many findings the templated explanation puts first. */
const TOP = 5;

/**
 * The default explanation, written from the findings alone: how many of each severity, the most urgent ones
 * first (their own messages), and what is fine.
 *
 * @example
 * ```ts
 * templatedExplanation('public', findings).summary; // 'public has 2 critical findings, 3 warnings ...'
 * ```
 */
export function templatedExplanation(schema: string, findings: readonly Finding[]): ExplanationDraft {
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const [critical, warning, info] = [count('critical'), count('warning'), count('info')];
  if (findings.length === 0) {
    return { summary: `${schema}: the checks found nothing to fix.`, priorities: [] };
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const first = findings.filter((f) => f.severity !== 'info').slice(0, TOP);
  const summary = [
    `${schema} has ${plural(critical, 'critical finding')}, ${plural(warning, 'warning')} and ${info} informational note${info === 1 ? '' : 's'}.`,
    critical > 0
      ? 'Fix the critical ones first: each can fail writes or slow every query on its table.'
      : warning > 0
        ? 'Nothing is critical; the warnings cost speed or clarity and are worth planning.'
        : 'Nothing is critical or urgent; the notes are worth a look when the tables change.',
  ].join(' ');
  return { summary, priorities: first.map((f) => ({ finding: f.id, why: f.message })) };
}

/**
 * Judges an explanation against the findings and the catalog: priorities citing an unknown finding are dropped,
 * and so is any sentence or priority that names (in backticks, `table.column`, or a snake_case word) a table,
 * column, index or constraint the schema does not have. An empty summary falls back to the templated one.
 *
 * @example
 * ```ts
 * judgeExplanation(draft, catalog, findings).dropped; // [{ text: 'Drop `ghost_orders` ...', reason: '...' }]
 * ```
 */
export function judgeExplanation(
  draft: ExplanationDraft,
  catalog: Catalog,
  findings: readonly Finding[],
): Explanation {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const known = knownNames(catalog, findings);
  const dropped: Explanation['dropped'] = [];
  const unknownIn = (text: string) => identifiers(text).filter((name) => !isKnown(name, known));
  const sentences = splitSentences(draft.summary).filter((sentence) => {
    const unknown = unknownIn(sentence);
    if (unknown.length === 0) return true;
    dropped.push({ text: sentence, reason: notInSchema(unknown, catalog.schema) });
    return false;
  });
  const priorities: Explanation['priorities'] = [];
  const seen = new Set<string>();
  for (const p of draft.priorities) {
    const finding = byId.get(p.finding);
    if (!finding) {
      dropped.push({
        text: `${p.finding}: ${p.why}`,
        reason: `cites the finding ${JSON.stringify(p.finding)}, which the analysis did not report`,
      });
      continue;
    }
    const unknown = unknownIn(p.why);
    if (unknown.length > 0) {
      dropped.push({ text: `${p.finding}: ${p.why}`, reason: notInSchema(unknown, catalog.schema) });
      continue;
    }
    if (seen.has(finding.id)) continue;
    seen.add(finding.id);
    priorities.push({ finding: finding.id, severity: finding.severity, table: finding.table, why: p.why });
  }
  const summary =
    sentences.length > 0 ? sentences.join(' ') : templatedExplanation(catalog.schema, findings).summary;
  return { summary, priorities, dropped };
}

function notInSchema(names: readonly string[], schema: string): string {
  return `names ${names.map((n) => JSON.stringify(n)).join(', ')}, which ${names.length === 1 ? 'is' : 'are'} not a table, column, index, constraint or finding of ${schema}`;
}

/** Every name an explanation may use: the schema, its tables, columns, indexes and constraints, the findings. */
function knownNames(catalog: Catalog, findings: readonly Finding[]): Set<string> {
  const names = new Set<string>([catalog.schema]);
  for (const t of catalog.tables) {
    names.add(t.name);
    for (const c of t.columns) {
      names.add(c.name);
      names.add(`${t.name}.${c.name}`);
    }
    for (const i of t.indexes) names.add(i.name);
    for (const c of t.columns) if (c.sequence) names.add(c.sequence.name);
    for (const k of t.constraints) names.add(k.name);
    names.add(`${catalog.schema}.${t.name}`);
  }
  for (const f of findings) {
    names.add(f.id);
    names.add(f.kind);
    for (const target of (f.target ?? '').split(/,\s*/)) if (target) names.add(target);
    // What the checks themselves wrote is fact: a sequence, a constraint, a type they name may be cited too.
    for (const name of [...identifiers(f.message), ...identifiers(f.fix ?? '')]) names.add(name);
  }
  return new Set([...names].map((n) => n.toLowerCase()));
}

/** Names an explanation may use that are PostgreSQL's, not the schema's: types, settings, keywords. */
const POSTGRES_WORDS = new Set(
  [
    'smallint integer int int4 int8 bigint serial bigserial numeric decimal real float8 text varchar char uuid',
    'boolean date time timestamp timestamptz interval json jsonb bytea money',
    'lock_timeout statement_timeout search_path not_valid create_index drop_index primary_key foreign_key',
    'null not_null concurrently unique check',
  ]
    .join(' ')
    .split(' '),
);

function isKnown(name: string, known: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  // pg_catalog, pg_stat_statements, pg_stat_user_indexes...: the server's own names, never the schema's.
  return known.has(lower) || POSTGRES_WORDS.has(lower) || lower.startsWith('pg_');
}

/**
 * The names a text uses: words in backticks or double quotes, `a.b` pairs of identifiers, and snake_case words.
 * Plain English words are not names; `e.g.` and numbers are not pairs.
 */
function identifiers(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/`([^`]+)`|"([^"\s]+)"/g)) {
    const name = (m[1] ?? m[2] ?? '').trim();
    // A quoted piece of SQL or a finding message is not one name.
    if (/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$|^[a-z-]+:[\w.,-]+$/.test(name)) found.add(name);
  }
  const bare = text.replace(/`[^`]*`|"[^"]*"/g, ' ');
  for (const m of bare.matchAll(/\b[A-Za-z_][\w$]+\.[A-Za-z_][\w$]+\b|\b[A-Za-z][A-Za-z0-9]*_[\w$]+\b/g)) {
    found.add(m[0]);
  }
  return [...found];
}

/** Sentences of a paragraph (a full stop, question or exclamation mark followed by a space). */
function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z`"(])/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
