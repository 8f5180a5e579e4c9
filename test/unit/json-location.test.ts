// Where a JSON text goes wrong (src/cli/json-location.ts): the scanner's verdict agrees with JSON.parse on every
// text, so a file that does not parse always gets a line and a column.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonSyntaxError } from '../../src/cli/json-location.js';

describe('jsonSyntaxError', () => {
  it('names the line and column, with V8 reason without its offset or the text', () => {
    expect(jsonSyntaxError('{"a": [1, 2}')).toBe(
      "Expected ',' or ']' after array element at line 1, column 12",
    );
    expect(jsonSyntaxError('{\n  "a": "x\ty"\n}')).toBe(
      'Bad control character in string literal at line 2, column 10',
    );
    expect(jsonSyntaxError('{"a": 1}\n\nx')).toBe(
      'Unexpected non-whitespace character after JSON at line 3, column 1',
    );
    expect(jsonSyntaxError('{"a": nul}')).toBe("Unexpected token '}' at line 1, column 10");
    expect(jsonSyntaxError('')).toBe('Unexpected end of JSON input at line 1, column 1');
    expect(jsonSyntaxError('{"a": 1}')).toBe('');
  });

  it('finds the place without overflowing the stack in a deeply nested text', () => {
    expect(jsonSyntaxError(`${'['.repeat(100_000)}x`)).toBe("Unexpected token 'x' at line 1, column 100001");
  });

  it('agrees with JSON.parse on valid JSON and on JSON with one character changed, dropped or cut', () => {
    const texts = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', '\\', '-', '0', 'e', '.', 'u', '\n', ' '),
      )
      .chain(([text, at, char]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        return fc.constantFrom(
          text,
          text.slice(0, i),
          text.slice(0, i) + char + text.slice(i + 1),
          text.slice(0, i) + char + text.slice(i),
        );
      });
    fc.assert(
      fc.property(texts, (text) => {
        let v8 = '';
        try {
          JSON.parse(text);
        } catch (error) {
          v8 = (error as Error).message;
        }
        const said = jsonSyntaxError(text);
        expect(said === '').toBe(v8 === '');
        if (v8 === '') return;
        expect(said).toMatch(/ at line \d+, column \d+$/);
        // Where V8 gives an offset, the scanner finds the same place.
        const offset = /at position (\d+)/.exec(v8)?.[1];
        if (offset === undefined) return;
        const before = text.slice(0, Number(offset)).split('\n');
        expect(said).toMatch(
          new RegExp(` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}$`),
        );
      }),
      { numRuns: 2_000 },
    );
  });
});
