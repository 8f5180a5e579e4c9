import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/index.js';

describe('the default logger', () => {
  it('redacts secrets wherever they sit, two levels deep, and keeps the rest', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info' }, sink);
    logger.info(
      { password: 'p1', db: { password: 'p2', host: 'h' }, a: { b: { token: 'tk' } }, apiKey: 'k' },
      'hello',
    );
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(JSON.stringify(line)).not.toMatch(/p1|p2|tk|"k"/);
    expect(line).toMatchObject({
      password: '[redacted]',
      db: { password: '[redacted]', host: 'h' },
      msg: 'hello',
    });
  });

  it('writes a plain-object error as its fields: no empty stack, no "caused by", no type "Object"', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'warn' }, sink);
    // What an LLM step's invalid answer gave: a serialized error (no stack) with a plain-object cause.
    const invalid = {
      name: 'StepFailedError',
      message: "Step 'generate' failed",
      code: 'STEP_FAILED',
      stepPath: 'generate',
      cause: {
        name: 'LlmError',
        message: 'The answer is invalid',
        code: 'LLM_INVALID',
        issues: ['sql'],
        token: 't',
      },
    };
    logger.warn({ err: invalid }, 'step failed');
    logger.warn({ err: { message: 'no name', code: 'X' } }, 'plain');
    logger.warn(
      { err: new Error('real', { cause: { message: 'inner', code: 'Y' } }) },
      'error with a plain cause',
    );
    const [first, second, third] = lines.map((l) => JSON.parse(l).err as Record<string, unknown>);
    expect(first).toEqual({
      type: 'StepFailedError',
      message: "Step 'generate' failed",
      code: 'STEP_FAILED',
      stepPath: 'generate',
      cause: {
        type: 'LlmError',
        message: 'The answer is invalid',
        code: 'LLM_INVALID',
        issues: ['sql'],
        token: '[redacted]',
      },
    });
    expect(second).toEqual({ message: 'no name', code: 'X' });
    expect(third).toMatchObject({ type: 'Error', message: 'real', cause: { message: 'inner', code: 'Y' } });
    expect(String(third?.stack)).not.toContain('caused by');
    expect(lines.join('')).not.toMatch(/"type":"Object"|"stack":""|caused by: /);
  });

  it('is quiet by default (level warn) unless FLOWSTATE_LOG_LEVEL says otherwise', () => {
    expect(createLogger().level).toBe(process.env.FLOWSTATE_LOG_LEVEL ?? 'warn');
  });
});
