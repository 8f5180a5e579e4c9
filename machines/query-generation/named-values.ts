/**
 * The names a request capitalizes ("customers in France", "albums by Queen") that no other requirement reads as a
 * value: each becomes a value requirement, so a query that cannot place one is never reported as the answer.
 */
import { identifierWords } from '../lib/references.js';
import { MONTHS } from './filters.js';
import type { Requirement } from './requirement.js';
import type { SchemaContext } from './schema-context.js';
import { singular as foldPlural } from './vocabulary.js';

/** Days and months: a request's capitalized words that name a time, not a value (read as dates where at all). */
const TIME_WORDS = new Set([
  ...MONTHS,
  ...MONTHS.map((m) => m.slice(0, 3)),
  'sept',
  'mon',
  'tue',
  'tues',
  'wed',
  'thu',
  'thur',
  'thurs',
  'fri',
  'sat',
  'sun',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'today',
  'yesterday',
]);

/** Words a request may capitalize that name no value (title case, emphasis, SQL words). */
const NOT_NAMES = new Set(
  `a all also an and are as at average by count each every first for from group grouped how in inner is join last
  left list many max min much next not number of on only or order ordered per please right select show sort sorted
  sum the there this to top total using what where which who with without`.split(/\s+/),
);

/**
 * Names the request capitalizes that nothing above reads as a value and the schema does not name ("customers in
 * France", "albums by Queen"): a query that answers must show each as a value, in its parameters or as a literal.
 * Without this a generator that cannot place one answers a wider question (every customer) as if it were the
 * request; with it the request is left unanswered, or the query is tried again. The first word of a sentence and
 * quoted text are not read (a quoted value is a requirement already).
 */
export function namedValues(context: SchemaContext, found: readonly Requirement[]): Requirement[] {
  const schemaWords = new Set(
    context.tables.flatMap((t) =>
      [t.name, ...t.columns.map((c) => c.name)].flatMap((n) => identifierWords(n).map(foldPlural)),
    ),
  );
  const covered = new Set(
    found.flatMap((r) =>
      r.kind === 'value'
        ? String(r.value)
            .toLowerCase()
            .split(/[^\p{L}\p{N}]+/u)
        : [],
    ),
  );
  const out: Requirement[] = [];
  // Quoted text is left out (an apostrophe inside a word, O'Brien, quotes nothing); what stands in its place is no
  // sentence end, so the word after it is still read.
  const unquoted = context.request.replace(/"[^"]*"|(?<!\p{L})'[^']*'(?!\p{L})/gu, ' _ ');
  // A request in title case ("Customers From Canada": a word such as From, By, Of capitalized after the first)
  // capitalizes words, not names: nothing is read from it.
  const titled = [...unquoted.matchAll(/(?<=\p{L}[^\p{L}.!?:;\n]*)\p{Lu}\p{Ll}*/gu)].some((m) =>
    NOT_NAMES.has(m[0].toLowerCase()),
  );
  if (titled) return [];
  let name: string[] = [];
  let end = -1;
  const flush = () => {
    const value = name.join(' ');
    name = [];
    if (value === '' || covered.has(value.toLowerCase())) return;
    covered.add(value.toLowerCase());
    out.push({ kind: 'value', what: `'${value}'`, value, named: true });
  };
  for (const m of unquoted.matchAll(/[\p{L}\p{N}_-]+/gu)) {
    const word = m[0];
    const before = unquoted.slice(0, m.index).trimEnd();
    const lower = word.toLowerCase();
    const isName =
      /^\p{Lu}\p{Ll}+$/u.test(word) &&
      before !== '' &&
      !/[.!?:;\n]$/.test(unquoted.slice(0, m.index).replace(/[ \t]+$/, '')) &&
      !NOT_NAMES.has(lower) &&
      !schemaWords.has(foldPlural(lower)) &&
      !covered.has(lower) &&
      !TIME_WORDS.has(lower);
    // "New York": capitalized words next to each other are one name.
    if (!isName || (name.length > 0 && unquoted.slice(end, m.index) !== ' ')) flush();
    if (isName) {
      name.push(word);
      end = m.index + word.length;
    }
  }
  flush();
  return out;
}
