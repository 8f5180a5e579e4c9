/**
 * A cursor over one statement's tokens, for the migration's statement readers.
 */
import { z } from 'zod';
import { isKeyword, isName, type Token } from '../lib/sql-text.js';

/** A possibly schema-qualified object name, as PostgreSQL resolves it (unquoted words folded to lower case). */
export const ObjectNameSchema = z.object({ schema: z.string().nullable(), name: z.string() });
/** A name read from a statement. */
export type ObjectName = z.infer<typeof ObjectNameSchema>;

/** A cursor over a statement's tokens. */
export class Reader {
  i = 0;
  constructor(readonly tokens: readonly Token[]) {}
  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  /** Consumes the keywords if they come next, in order. */
  accept(...words: string[]): boolean {
    if (!words.every((w, k) => isKeyword(this.peek(k), w))) return false;
    this.i += words.length;
    return true;
  }
  /** Reads `name` or `schema.name`; `undefined` when no name comes next. */
  name(): ObjectName | undefined {
    const first = this.peek();
    if (!isName(first)) return undefined;
    this.i++;
    if (this.peek()?.value === '.' && isName(this.peek(1))) {
      const second = this.peek(1) as Token;
      this.i += 2;
      return { schema: first.value, name: second.value };
    }
    return { schema: null, name: first.value };
  }
  /** Reads a comma-separated list of names. */
  names(): ObjectName[] {
    const list: ObjectName[] = [];
    for (let n = this.name(); n; n = this.comma() ? this.name() : undefined) list.push(n);
    return list;
  }
  /** Consumes a comma if one comes next. */
  comma(): boolean {
    if (this.peek()?.value !== ',') return false;
    this.i++;
    return true;
  }
  /** Whether a keyword appears anywhere from here on (outside nothing: a rough test, used for CASCADE, WHERE). */
  has(word: string): boolean {
    return this.tokens.slice(this.i).some((t) => isKeyword(t, word));
  }
  rest(): string {
    return this.tokens
      .slice(this.i)
      .map((t) => t.text)
      .join(' ');
  }
}
