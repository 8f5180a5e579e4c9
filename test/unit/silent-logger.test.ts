import { describe, expect, it } from 'vitest';
import { createEngine, workflow } from '../../src/index.js';
import { silentLogger } from '../../src/observability/silent-logger.js';

describe('createEngine({ logger: false })', () => {
  it("gives agents a logger that takes pino's usual calls and writes nothing", async () => {
    const seen: unknown[] = [];
    const engine = createEngine({
      logger: false,
      agents: {
        chatty: (_input, ctx) => {
          const child = ctx.logger.child({ part: 1 });
          child.info({ secret: 'x' }, 'hello');
          child.warn('careful');
          // pino lets a caller set a level: taken, and it stays silent.
          ctx.logger.level = 'debug';
          seen.push(ctx.logger.level, ctx.logger.isLevelEnabled('info'), child === ctx.logger);
          return 'ok';
        },
      },
    });
    const run = engine.start(workflow('quiet').step('talk', { agent: 'chatty' }).build(), {});
    await expect(run.result).resolves.toEqual({ talk: 'ok' });
    expect(seen).toEqual(['silent', false, true]);
    expect(silentLogger.bindings()).toEqual({});
    await new Promise<void>((resolve) => silentLogger.flush(() => resolve()));
  });
});
