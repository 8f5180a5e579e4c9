/**
 * Where a JSON text goes wrong, as a line and a column a person finds in an editor. V8's `JSON.parse` messages give
 * a character offset for some errors and none for an unexpected token (only a slice of the text), and their wording
 * changes between Node versions: the place comes from a small scanner of JSON's grammar here, the wording from V8.
 */

/**
 * Why `text` is not JSON and where: `Expected double-quoted property name at line 3, column 5`. For a text that
 * parses, an empty string.
 *
 * @example
 * ```ts
 * jsonSyntaxError('{"id": "x",\n}'); // "Expected double-quoted property name at line 2, column 1"
 * ```
 */
export function jsonSyntaxError(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (error) {
    const reason = (error as Error).message
      .replace(/^(Unexpected token '[^']*'), .* is not valid JSON$/s, '$1')
      .replace(/\s+(in JSON\s+)?at position \d+.*$/s, '');
    const offset = jsonErrorOffset(text);
    return offset === undefined ? reason : `${reason} at ${lineColumn(text, offset)}`;
  }
}

/** `line 3, column 5` (both from 1) of a character offset. */
function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/**
 * The offset of the first character that cannot continue a JSON text (its length when the text ends too soon), or
 * `undefined` when it is valid JSON. Containers are kept on an explicit stack, so a deeply nested file cannot
 * overflow the call stack.
 */
function jsonErrorOffset(text: string): number | undefined {
  const s = new Scanner(text);
  const open: string[] = [];
  for (;;) {
    // A value is expected here.
    s.space();
    const c = s.peek();
    if (c === '{' || c === '[') {
      s.i++;
      s.space();
      if (s.peek() === (c === '{' ? '}' : ']')) s.i++;
      else {
        if (c === '{' && !s.member()) return s.i;
        open.push(c);
        continue;
      }
    } else if (!s.scalar()) return s.i;
    // After a value: a comma and the next member or item, the end of a container, or the end of the text.
    for (;;) {
      s.space();
      const top = open.at(-1);
      if (top === undefined) return s.i < text.length ? s.i : undefined;
      const next = s.peek();
      if (next === ',') {
        s.i++;
        if (top === '{' && !s.member()) return s.i;
        break;
      }
      if (next !== (top === '{' ? '}' : ']')) return s.i;
      s.i++;
      open.pop();
    }
  }
}

class Scanner {
  i = 0;
  constructor(private readonly text: string) {}

  peek(): string | undefined {
    return this.text[this.i];
  }

  space(): void {
    while (/[ \t\n\r]/.test(this.text[this.i] ?? '')) this.i++;
  }

  /** `"key" :`, leaving the position where the member's value starts. */
  member(): boolean {
    this.space();
    if (this.peek() !== '"' || !this.string()) return false;
    this.space();
    if (this.peek() !== ':') return false;
    this.i++;
    return true;
  }

  scalar(): boolean {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (c !== word[0]) continue;
      for (const expected of word) {
        if (this.peek() !== expected) return false;
        this.i++;
      }
      return true;
    }
    return false;
  }

  private string(): boolean {
    this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c < ' ') return false;
      this.i++;
      if (c === '"') return true;
      if (c !== '\\') continue;
      const escaped = this.peek();
      if (escaped === 'u') {
        this.i++;
        for (let k = 0; k < 4; k++, this.i++) if (!/[0-9a-fA-F]/.test(this.peek() ?? '')) return false;
      } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) this.i++;
      else return false;
    }
  }

  private number(): boolean {
    if (this.peek() === '-') this.i++;
    if (this.peek() === '0') this.i++;
    else if (!this.digits()) return false;
    if (this.peek() === '.') {
      this.i++;
      if (!this.digits()) return false;
    }
    if (this.peek() === 'e' || this.peek() === 'E') {
      this.i++;
      if (this.peek() === '+' || this.peek() === '-') this.i++;
      if (!this.digits()) return false;
    }
    return true;
  }

  /** One digit or more. */
  private digits(): boolean {
    const start = this.i;
    while (/[0-9]/.test(this.peek() ?? '')) this.i++;
    return this.i > start;
  }
}
