/**
 * A small SQL lexer, enough to tell statements apart and read their shape: it knows quoted identifiers, string
 * constants (`'..'`, `E'..'`), dollar quoting (`$tag$..$tag$`), parameters (`$1`), numbers, comments (nested
 * block comments included) and operators. The templates use it to split a migration into statements, to refuse
 * generated SQL that is more than one statement, and to read column names out of plan filters. It never rewrites
 * SQL: the database parses what runs.
 */
import { ConfigurationError } from '../../src/index.js';

/** One lexical token. */
export interface Token {
  readonly kind: 'word' | 'ident' | 'string' | 'number' | 'param' | 'op' | 'punct';
  /** The source text of the token. */
  readonly text: string;
  /** Words lowercased (as PostgreSQL folds them), quoted identifiers unescaped, strings unquoted. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';
const PUNCT = '(),;[].:';
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/**
 * Splits SQL text into tokens, dropping whitespace and comments. Throws a `ConfigurationError` for an unterminated
 * quote or comment, which would otherwise swallow the rest of the text.
 *
 * @example
 * ```ts
 * tokenize(`SELECT "Id" FROM t WHERE a = 'x'`).map((t) => t.value); // ['select', 'Id', 'from', 't', 'where', 'a', '=', 'x']
 * ```
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: Token['kind'], start: number, end: number, value: string) => {
    tokens.push({ kind, text: sql.slice(start, end), value, start, end });
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'") {
      const [end, value] = readQuoted(sql, i, "'", false);
      push('string', i, end, value);
      i = end;
    } else if ((c === 'e' || c === 'E') && next === "'") {
      const [end, value] = readQuoted(sql, i + 1, "'", true);
      push('string', i, end, value);
      i = end;
    } else if (c === '"') {
      const [end, value] = readQuoted(sql, i, '"', false);
      push('ident', i, end, value);
      i = end;
    } else if (c === '$' && next !== undefined && DIGIT.test(next)) {
      let end = i + 1;
      while (end < sql.length && DIGIT.test(sql[end] as string)) end++;
      push('param', i, end, sql.slice(i, end));
      i = end;
    } else if (c === '$' && DOLLAR_TAG.test(sql.slice(i, i + 66))) {
      const tag = (DOLLAR_TAG.exec(sql.slice(i, i + 66)) as RegExpExecArray)[0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) throw new ConfigurationError(`Unterminated dollar-quoted string ${tag} at ${i}`);
      push('string', i, close + tag.length, sql.slice(i + tag.length, close));
      i = close + tag.length;
    } else if (WORD_START.test(c)) {
      let end = i + 1;
      while (end < sql.length && WORD_PART.test(sql[end] as string)) end++;
      push('word', i, end, sql.slice(i, end).toLowerCase());
      i = end;
    } else if (DIGIT.test(c) || (c === '.' && next !== undefined && DIGIT.test(next))) {
      const match = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(sql.slice(i)) as RegExpExecArray;
      push('number', i, i + match[0].length, match[0]);
      i += match[0].length;
    } else if (c === ':' && next === ':') {
      push('op', i, i + 2, '::');
      i += 2;
    } else if (PUNCT.includes(c)) {
      push('punct', i, i + 1, c);
      i++;
    } else if (OPERATOR_CHARS.includes(c)) {
      let end = i + 1;
      // An operator ends where a comment starts (`a=-- x` is `=` then a comment).
      while (end < sql.length && OPERATOR_CHARS.includes(sql[end] as string)) {
        const pair = sql.slice(end, end + 2);
        if (pair === '--' || pair === '/*') break;
        end++;
      }
      push('op', i, end, sql.slice(i, end));
      i = end;
    } else {
      push('op', i, i + 1, c);
      i++;
    }
  }
  return tokens;
}

function skipBlockComment(sql: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < sql.length) {
    const pair = sql.slice(i, i + 2);
    if (pair === '/*') {
      depth++;
      i += 2;
    } else if (pair === '*/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  throw new ConfigurationError(`Unterminated block comment at ${from}`);
}

/** Reads a quoted token from its opening quote; returns the end offset and the unescaped value. */
function readQuoted(sql: string, from: number, quote: string, backslashes: boolean): [number, string] {
  let value = '';
  let i = from + 1;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (backslashes && c === '\\') {
      value += sql[i + 1] ?? '';
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) {
        value += quote;
        i += 2;
      } else return [i + 1, value];
    } else {
      value += c;
      i++;
    }
  }
  throw new ConfigurationError(`Unterminated ${quote === '"' ? 'quoted identifier' : 'string'} at ${from}`);
}
