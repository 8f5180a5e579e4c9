import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Issue 13: every name the package exports, and every member of an exported interface (its type parameters
// included, documented with `@template`), has a TSDoc comment. A new undocumented public member fails here.

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The public entry points: the package root and its `db`, `store` and `testing` subpaths. */
const ENTRIES = [
  'src/index.ts',
  'src/json.ts',
  'src/persistence/index.ts',
  'src/testing/index.ts',
  'src/db/index.ts',
  'src/ai/index.ts',
  'src/bullmq/index.ts',
  'machines/templates.ts',
];

interface Checked {
  /** `entry: Name` and `entry: Name.member` for each export and interface member without documentation. */
  readonly missing: string[];
  /** How many exports and interface members were looked at. */
  readonly checked: number;
}

/** The exports of each entry file, and the members of the interfaces among them, that have no doc comment. */
function undocumented(entries: readonly string[], base: string): Checked {
  const program = ts.createProgram(entries as string[], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const documented = (symbol: ts.Symbol) =>
    ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '';
  const missing: string[] = [];
  let checked = 0;
  for (const entry of entries) {
    const name = relative(base, entry);
    const source = program.getSourceFile(entry);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) {
      missing.push(`${name}: (not a module)`);
      continue;
    }
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      checked++;
      if (!documented(symbol)) missing.push(`${name}: ${exported.name}`);
      if (!(symbol.flags & ts.SymbolFlags.Interface)) continue;
      for (const [member, memberSymbol] of symbol.members ?? new Map<ts.__String, ts.Symbol>()) {
        if (String(member).startsWith('__')) continue;
        checked++;
        if (!documented(memberSymbol)) missing.push(`${name}: ${exported.name}.${String(member)}`);
      }
    }
  }
  return { missing, checked };
}

describe('TSDoc on the public API', () => {
  it('documents every export of the entry points and every member of their exported interfaces', () => {
    const { missing, checked } = undocumented(
      ENTRIES.map((entry) => join(root, entry)),
      root,
    );
    expect(missing).toEqual([]);
    // Not vacuous: the entry points were found and their exports followed.
    expect(checked).toBeGreaterThan(300);
  }, 120_000);

  it('reports an undocumented export, interface member and type parameter (the check itself)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowstate-tsdoc-'));
    try {
      const entry = join(dir, 'index.ts');
      writeFileSync(
        entry,
        [
          '/**',
          ' * Documented, with a documented type parameter.',
          ' * @template T - The value type.',
          ' */',
          'export interface Good<T> {',
          '  /** Documented. */',
          '  readonly value: T;',
          '}',
          '/** Documented, but not its members. */',
          'export interface Bad<T> {',
          '  readonly value: T;',
          '  run(): void;',
          '}',
          'export const bare = 1;',
          '',
        ].join('\n'),
      );
      expect(undocumented([entry], dir).missing.sort()).toEqual([
        'index.ts: Bad.T',
        'index.ts: Bad.run',
        'index.ts: Bad.value',
        'index.ts: bare',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
