import { describe, expect, it } from 'vitest';
import { type AgentContext, workflow } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

const files = sqliteScratch('flowstate-durable-loop-');

// Round 1 of `draft` is journaled; round 2 is in flight when the process dies. The restored round 2 must call its
// agent again: with one key for every round, it took round 1's journaled output instead.
const refine = workflow('durable-refine')
  .loop('rounds', (b) => b.step('draft', { agent: 'draft' }), {
    until: (ctx) => ctx.results.draft === 'good',
    maxIterations: 5,
  })
  .build();

describe('a loop resumed after a crash', () => {
  it('runs the round that was in flight again, never with an earlier round’s output', async () => {
    let calls = 0;
    const first = testEngine({
      lease: node,
      store: files.store,
      workflows: [refine],
      agents: { draft: () => (++calls === 1 ? 'rough' : never()) },
    });
    first.start(refine, {}, { id: 'l1' });
    await settle(first);
    expect(calls).toBe(2);

    const seen: string[] = [];
    const second = files.restarted({
      workflows: [refine],
      agents: {
        draft: (_input: unknown, ctx: AgentContext) => {
          seen.push(ctx.idempotencyKey);
          return 'good';
        },
      },
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual({ draft: 'good' });
    expect(seen).toEqual(['l1:draft@2:1']);
    const ended = resumed?.actor.getSnapshot().context as { iterations: Record<string, number> };
    expect(ended.iterations.rounds).toBe(2);
  });
});
