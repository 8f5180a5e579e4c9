/**
 * PostgreSQL's own parser (libpg_query compiled to WebAssembly, the `libpg-query` package) for the checks that
 * decide what may run on a user's database: the migration lint and the read-only check. A hand-written lexer
 * guesses where a statement ends and what a dollar quote hides; the server's grammar does not guess. The WASM
 * module (about 60 ms to load) is imported on first use, so commands that never check SQL never pay for it.
 */
import { ConfigurationError } from '../../src/index.js';

/** A node of the parse tree: `{ NodeType: { ...fields } }`, as libpg_query's JSON output gives it. */
export type PgNode = Record<string, unknown>;

/** One statement of a script: its text (as written, trimmed) and its parse tree. */
export interface ParsedStatement {
  readonly sql: string;
  /** The statement's node type, e.g. `IndexStmt`, `AlterTableStmt`, `DoStmt`. */
  readonly type: string;
  /** The fields of that node. */
  readonly node: PgNode;
  /** Offset of the statement in the script. */
  readonly start: number;
}

/** One lexical token as PostgreSQL's scanner reads it. */
export interface PgToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** The scanner's token name: `IDENT`, `SCONST`, `PARAM`, `ASCII_46` ('.'), or a keyword such as `CONCURRENTLY`. */
  readonly name: string;
}

interface Module {
  loadModule(): Promise<void>;
  parseSync(sql: string): { stmts?: { stmt: PgNode; stmt_location?: number; stmt_len?: number }[] };
  scanSync(sql: string): {
    tokens: { start: number; end: number; text: string; tokenName: string; keywordKind: number }[];
  };
}

let loading: Promise<Module> | undefined;
let loaded: Module | undefined;

/** Loads the parser once (the first call pays for the WASM module; later ones return at once). */
export function loadParser(): Promise<void> {
  loading ??= import('libpg-query').then(async (m) => {
    const module = m as unknown as Module;
    await module.loadModule();
    loaded = module;
    return module;
  });
  return loading.then(() => undefined);
}

function parser(): Module {
  if (!loaded) throw new Error('The SQL parser is not loaded: await loadParser() first');
  return loaded;
}

/**
 * Splits and parses a script as PostgreSQL would. Throws a `ConfigurationError` carrying the server's own
 * message for text PostgreSQL would refuse (a syntax error, an unterminated quote or comment).
 *
 * @example
 * ```ts
 * await loadParser();
 * parseSql('DO $$ BEGIN DROP TABLE t; END $$; SELECT 1').map((s) => s.type); // ['DoStmt', 'SelectStmt']
 * ```
 */
export function parseSql(sql: string): ParsedStatement[] {
  let result: ReturnType<Module['parseSync']>;
  try {
    result = parser().parseSync(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(`SQL that PostgreSQL cannot parse: ${message}`);
  }
  return (result.stmts ?? []).map((raw) => {
    const start = raw.stmt_location ?? 0;
    const text = sql.slice(start, raw.stmt_len ? start + raw.stmt_len : undefined);
    const [type, node] = Object.entries(raw.stmt)[0] as [string, PgNode];
    const leading = text.length - text.trimStart().length;
    return { sql: text.trim(), type, node, start: start + leading };
  });
}

/** The tokens of `sql` (comments dropped), as PostgreSQL's scanner reads them. */
export function scanSql(sql: string): PgToken[] {
  return parser()
    .scanSync(sql)
    .tokens.map((t) => ({
      start: t.start,
      end: t.end,
      text: t.text,
      // Keywords come back as UNKNOWN tokens with a keyword kind: name them by their (upper-cased) text.
      name: t.keywordKind > 0 ? t.text.toUpperCase() : t.tokenName,
    }));
}

/**
 * Calls `visit` on every node under `root` (depth first), with the node's type and fields. Lists and plain
 * fields are walked through; what `visit` returns is ignored.
 */
export function walk(root: unknown, visit: (type: string, node: PgNode) => void): void {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  for (const [key, value] of Object.entries(root as PgNode)) {
    if (/^[A-Z]/.test(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      visit(key, value as PgNode);
    }
    walk(value, visit);
  }
}

/** The names of the functions a tree calls (`FuncCall` nodes), schema-qualified as written, lowercased. */
export function functionCalls(root: unknown): string[] {
  const names: string[] = [];
  walk(root, (type, node) => {
    if (type === 'FuncCall') names.push(strings(node.funcname).join('.'));
  });
  return names;
}

/** The `sval`s of a list of `String` nodes (a qualified name, a type name). */
export function strings(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (item as { String?: { sval?: string } }).String?.sval ?? '')
    .filter((s) => s !== '');
}

/** A `RangeVar` (a table reference) as `{ schema, name }`. */
export function rangeVar(node: unknown): { schema: string | null; name: string } | undefined {
  const r = node as { schemaname?: string; relname?: string } | undefined;
  return r?.relname ? { schema: r.schemaname ?? null, name: r.relname } : undefined;
}

/**
 * Every table reference under a parse tree: a `RangeVar`, wrapped as a node (`{ RangeVar: {...} }`) where a field
 * may hold any node, or bare where the field is always one (`IndexStmt.relation`, `Constraint.pktable`).
 */
export function tableReferences(root: unknown): { schema: string | null; name: string }[] {
  const out: { schema: string | null; name: string }[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const name = 'relname' in value ? rangeVar(value) : undefined;
    if (name) out.push(name);
    for (const field of Object.values(value)) visit(field);
  };
  visit(root);
  return out;
}
