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

  it('is quiet by default (level warn) unless FLOWSTATE_LOG_LEVEL says otherwise', () => {
    expect(createLogger().level).toBe(process.env.FLOWSTATE_LOG_LEVEL ?? 'warn');
  });
});
