/**
 * Regular expressions in JSON Schemas from outside. zod's `fromJSONSchema` turns every `pattern` and every key of
 * `patternProperties` into a backtracking JS RegExp, which later validations run on the engine's thread: a
 * pattern such as `^(a+)+$` takes seconds on a few dozen characters. So `fromJSON` refuses a pattern longer than
 * {@link MAX_PATTERN_LENGTH}, or that recheck (a ReDoS checker that decides most patterns exactly, from their
 * automaton) does not find safe. A pattern that does not compile is left to zod's conversion, which refuses it.
 *
 * recheck is loaded on the first pattern only: importing the package, and reading JSON without patterns, never
 * pays for it. Its synchronous check runs in a worker (with recheck's native binary where one ships for the
 * platform, else its pure JavaScript build) while this thread waits, so every check has a time limit and one
 * `fromJSON` call has a budget for all of them; a pattern not shown safe in time is refused.
 */
import { createRequire } from 'node:module';
import type { Diagnostics, Parameters } from 'recheck';
import type { DefinitionProblem, IssuePath } from '../model/errors.js';

/** The longest accepted pattern, in UTF-16 units. */
const MAX_PATTERN_LENGTH = 1000;

/** The longest time one pattern may take to check. */
const CHECK_TIMEOUT_MS = 1000;

/** The longest time the patterns of one `fromJSON` call may take to check, all together. */
const CHECK_BUDGET_MS = 3000;

/** Verdicts kept across calls (a server reading the same definitions again checks nothing twice). */
const MAX_CACHED = 512;

let recheckModule: typeof import('recheck') | undefined;

/** recheck, `require`d on the first call (its check is synchronous, so it is loaded synchronously too). */
function recheck(): typeof import('recheck') {
  recheckModule ??= createRequire(import.meta.url)('recheck') as typeof import('recheck');
  return recheckModule;
}

/** What recheck found that makes a pattern unusable, or `undefined` when it is safe. */
type Verdict = { readonly code: string; readonly message: string } | undefined;

const verdicts = new Map<string, Verdict>();

// Keywords whose values are instance data, not schemas: a `pattern` key in there is a value like any other.
const DATA_KEYWORDS: ReadonlySet<string> = new Set(['default', 'const', 'enum', 'examples']);

// Keywords whose values map names (or, for patternProperties, patterns) to schemas.
const SCHEMA_MAP_KEYWORDS: ReadonlySet<string> = new Set([
  'properties',
  'patternProperties',
  'dependentSchemas',
  'dependencies',
  '$defs',
  'definitions',
]);

/**
 * The patterns of one `fromJSON` call: each one is checked once, and all of them within one time budget, which
 * starts with the first check.
 */
export class PatternGate {
  #deadline: number | undefined;
  readonly #seen = new Map<string, Verdict>();

  /**
   * Problems for every unusable pattern in a JSON Schema, `path` being the schema's. Every position where zod
   * could read a schema is searched, and more (a `pattern` under an unknown keyword counts too); instance data
   * under `default`, `const`, `enum` and `examples` is not.
   */
  problems(schema: unknown, path: IssuePath): DefinitionProblem[] {
    const problems: DefinitionProblem[] = [];
    this.#visit(schema, path, problems);
    return problems;
  }

  #visit(node: unknown, path: IssuePath, problems: DefinitionProblem[]): void {
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) this.#visit(item, [...path, i], problems);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      const here = [...path, key];
      if (key === 'pattern') {
        this.#check(value, here, problems);
      } else if (SCHEMA_MAP_KEYWORDS.has(key) && typeof value === 'object' && value !== null) {
        for (const [name, child] of Object.entries(value)) {
          if (key === 'patternProperties' && !Array.isArray(value))
            this.#check(name, [...here, name], problems);
          this.#visit(child, [...here, Array.isArray(value) ? Number(name) : name], problems);
        }
      } else if (!DATA_KEYWORDS.has(key)) {
        this.#visit(value, here, problems);
      }
    }
  }

  #check(pattern: unknown, path: IssuePath, problems: DefinitionProblem[]): void {
    const verdict = this.#verdict(pattern);
    if (verdict !== undefined) problems.push({ ...verdict, path });
  }

  #verdict(pattern: unknown): Verdict {
    // zod skips a falsy `pattern` and passes any other value to `new RegExp`, which reads ['(a+)+$'] as its string.
    if (!pattern) return undefined;
    if (typeof pattern !== 'string')
      return { code: 'invalid-pattern', message: 'Expected `pattern` to be a string' };
    if (pattern.length > MAX_PATTERN_LENGTH) {
      return {
        code: 'pattern-too-long',
        message: `This pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`,
      };
    }
    try {
      new RegExp(pattern);
    } catch {
      // zod's conversion refuses it in turn, and `fromJSON` reports that as an `invalid-json-schema` problem
      // quoting the RegExp error; nothing to analyse here.
      return undefined;
    }
    if (this.#seen.has(pattern)) return this.#seen.get(pattern);
    const verdict = verdicts.has(pattern) ? verdicts.get(pattern) : this.#analyse(pattern);
    this.#seen.set(pattern, verdict);
    return verdict;
  }

  #analyse(pattern: string): Verdict {
    const now = performance.now();
    this.#deadline ??= now + CHECK_BUDGET_MS;
    const left = () => Math.min(CHECK_TIMEOUT_MS, Math.floor(this.#deadline! - performance.now()));
    if (left() <= 0) return outOfTime();
    // The automaton checker decides most patterns exactly and at once. Look-around is beyond it: for those,
    // recheck's default checker falls back on fuzzing, which takes longer, so the time limit matters there.
    let diagnostics = check(pattern, { checker: 'automaton', timeout: left() });
    if (diagnostics.status === 'unknown' && diagnostics.error.kind === 'unsupported' && left() > 0) {
      diagnostics = check(pattern, { timeout: left() });
    }
    const verdict = verdictOf(diagnostics);
    // Only what recheck decided is kept: a time-out may go otherwise next time.
    if (diagnostics.status !== 'unknown') remember(pattern, verdict);
    return verdict;
  }
}

function check(pattern: string, params: Parameters): Diagnostics {
  try {
    // No flags: zod builds `new RegExp(pattern)`.
    return recheck().checkSync(pattern, '', params);
  } catch (error) {
    const message = error instanceof Error ? error.message.slice(0, 200) : 'unknown reason';
    return { source: pattern, flags: '', status: 'unknown', error: { kind: 'unexpected', message } };
  }
}

function verdictOf(diagnostics: Diagnostics): Verdict {
  switch (diagnostics.status) {
    case 'safe':
      return undefined;
    case 'vulnerable': {
      const complexity = diagnostics.complexity;
      const growth =
        complexity.type === 'exponential' ? 'exponential' : `polynomial (degree ${complexity.degree})`;
      return {
        code: 'unsafe-pattern',
        message: `This pattern can take ${growth} time to match some inputs (ReDoS), which would block the engine: rewrite it without nested or overlapping repetition, such as (a+)+ or (a|aa)*`,
      };
    }
    case 'unknown': {
      const error = diagnostics.error;
      const why =
        error.kind === 'timeout'
          ? 'the check did not finish in the time allowed'
          : error.kind === 'cancel'
            ? 'the check was cancelled'
            : `${error.kind}: ${error.message.slice(0, 200)}`;
      return {
        code: 'unsafe-pattern',
        message: `This pattern could not be shown safe from catastrophic backtracking (${why}): simplify it`,
      };
    }
  }
}

function outOfTime(): Verdict {
  return {
    code: 'unsafe-pattern',
    message: `This pattern was not checked: the patterns of one definition may take ${CHECK_BUDGET_MS} ms to check in all, and the earlier ones used that time. Use fewer or simpler patterns`,
  };
}

function remember(pattern: string, verdict: Verdict): void {
  if (verdicts.size >= MAX_CACHED) verdicts.delete(verdicts.keys().next().value!);
  verdicts.set(pattern, verdict);
}
