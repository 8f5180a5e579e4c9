import { describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { type AgentFunction, agentActor, DefinitionVersionError, sqliteStore } from '../../src/index.js';
import { never, node, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

// A hand-written machine on a SQLite store: a run killed mid-step (its engine dropped without close, as a crashed
// process leaves it) is resumed by a second engine on the same file, from its last checkpoint.

const files = sqliteScratch('flowstate-handwritten-');
const { restarted } = files;

/** fetch (agent) -> enrich (agent) -> done; the output is what both returned. */
function pipeline(timeoutMs = 60_000) {
  return setup({
    types: {} as {
      input: { order: string };
      context: { order: string; fetched?: string; enriched?: string };
    },
    actors: { fetch: agentActor<string, string>(), enrich: agentActor<string | undefined, string>() },
  }).createMachine({
    id: 'pipeline',
    context: ({ input }) => ({ order: input.order }),
    initial: 'fetch',
    states: {
      fetch: {
        meta: { flowstate: { timeoutMs } },
        invoke: {
          src: 'fetch',
          input: ({ context }) => context.order,
          onDone: { target: 'enrich', actions: assign({ fetched: ({ event }) => event.output }) },
          onError: 'failed',
        },
      },
      enrich: {
        meta: { flowstate: { timeoutMs } },
        invoke: {
          src: 'enrich',
          input: ({ context }) => context.fetched,
          onDone: { target: 'done', actions: assign({ enriched: ({ event }) => event.output }) },
          onError: 'failed',
        },
      },
      done: { type: 'final' },
      failed: { type: 'final' },
    },
    output: ({ context }) => ({ fetched: context.fetched, enriched: context.enriched }),
  });
}

describe('a hand-written machine on a store', () => {
  it('takes its events through engine.send, wherever it runs', async () => {
    const machine = setup({}).createMachine({
      id: 'approval',
      initial: 'waiting',
      states: { waiting: { on: { APPROVE: 'done' } }, done: { type: 'final' } },
      output: () => 'approved',
    });
    const owner = testEngine({ lease: node, store: files.store });
    const run = owner.start(machine, {}, { id: 'a1' });
    await settle(owner);
    const other = testEngine({
      lease: { owner: 'node-2' },
      store: sqliteStore(files.path),
      inbox: { pollMs: 10 },
    });
    other.register(machine);
    await expect(other.send('a1', { type: 'APPROVE' })).resolves.toBe(true);
    await expect(run.result).resolves.toBe('approved');
    await other.close();
    await owner.close();
  });
});

describe('a hand-written machine resumed after a crash', () => {
  it('continues from its checkpoint: the step done before the crash is not called again', async () => {
    const machine = pipeline();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { fetch: (o: string) => `${o}:F`, enrich: never },
    });
    const run = first.start(machine, { order: 'o1' }, { id: 'h1' });
    await settle(first);
    expect(run.actor.getSnapshot().value).toBe('enrich');
    expect(await first.get('h1')).toMatchObject({ status: 'running', workflow: 'pipeline' });

    // The first engine is gone without close (its lease stays until it expires; the same owner takes it back).
    const fetch = vi.fn((o: string) => `${o}:again`);
    const keys: string[] = [];
    const enrich: AgentFunction = (input, ctx) => {
      keys.push(ctx.idempotencyKey);
      return `${String(input)}+E`;
    };
    const second = restarted({ agents: { fetch, enrich }, workflows: [machine] });
    const [resumed] = await second.recover();
    expect(resumed?.id).toBe('h1');
    await expect(resumed?.result).resolves.toEqual({ fetched: 'o1:F', enriched: 'o1:F+E' });
    expect(fetch).not.toHaveBeenCalled();
    expect(keys).toEqual(['h1:enrich:1']);
    await settle(second);
    expect(await second.get('h1')).toMatchObject({
      status: 'done',
      output: { fetched: 'o1:F', enriched: 'o1:F+E' },
    });
    await second.close();
  });

  it('does not call an agent whose output was journaled before the crash, though no checkpoint says so', async () => {
    const machine = pipeline();
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: { fetch: () => 'F', enrich: never },
    });
    first.start(machine, { order: 'o2' }, { id: 'h2' });
    await settle(first);
    // The crash came after enrich's output was committed to the journal, before the checkpoint that follows it.
    const { owner, epoch } = (await files.store.getRun('h2')) ?? {};
    await files.store.write({
      runs: [],
      journal: [
        {
          key: 'h2:enrich:1',
          runId: 'h2',
          stepPath: 'enrich',
          attempt: 1,
          output: '"journaled"',
          createdAt: 0,
          lease: { owner: owner ?? '', epoch: epoch ?? 0 },
        },
      ],
    });
    const enrich = vi.fn(() => 'called');
    const second = restarted({ agents: { fetch: () => 'again', enrich } });
    second.register(machine);
    const resumed = await second.resume('h2');
    await expect(resumed.result).resolves.toEqual({ fetched: 'F', enriched: 'journaled' });
    expect(enrich).not.toHaveBeenCalled();
    await second.close();
  });

  it('refuses a changed machine without a migrate hook, and restarts the run with one', async () => {
    const first = testEngine({ lease: node, store: files.store, agents: { fetch: never, enrich: never } });
    first.start(pipeline(), { order: 'o3' }, { id: 'h3' });
    first.start(pipeline(), { order: 'o4' }, { id: 'h4' });
    await settle(first);
    const changed = pipeline(5_000);
    const agents = { fetch: (o: string) => `${o}:F`, enrich: (f: string) => `${f}+E` };
    const strict = restarted({ agents });
    strict.register(changed);
    await expect(strict.resume('h3')).rejects.toBeInstanceOf(DefinitionVersionError);
    await strict.close();
    const migrating = restarted({ agents, migrate: { pipeline: () => ({ action: 'restart' }) } });
    migrating.register(changed);
    const run = await migrating.resume('h4');
    await expect(run.result).resolves.toEqual({ fetched: 'o4:F', enriched: 'o4:F+E' });
    await settle(migrating);
    expect(await migrating.get('h4')).toMatchObject({
      status: 'done',
      version: migrating.workflows.get('pipeline')?.version,
    });
    await migrating.close();
  });
});

describe('a hand-written machine that re-enters a state with an agent invoke', () => {
  /** drafting (agent) -> checking -> drafting again, three drafts in all; the output is every draft. */
  const redraft = setup({
    types: {} as { context: { drafts: string[] } },
    actors: { draft: agentActor<number, string>() },
  }).createMachine({
    id: 'redraft',
    context: { drafts: [] },
    initial: 'drafting',
    states: {
      drafting: {
        invoke: {
          src: 'draft',
          input: ({ context }) => context.drafts.length + 1,
          onDone: {
            target: 'checking',
            actions: assign({ drafts: ({ context, event }) => [...context.drafts, event.output] }),
          },
        },
      },
      checking: {
        always: [
          { guard: ({ context }) => context.drafts.length < 3, target: 'drafting' },
          { target: 'done' },
        ],
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context.drafts,
  });

  it("keys each entry apart: restarted in its second entry, the run does not take the first entry's output", async () => {
    const keys: string[] = [];
    const first = testEngine({
      lease: node,
      store: files.store,
      agents: {
        draft: ((n: number, ctx) => {
          keys.push(ctx.idempotencyKey);
          return n === 1 ? 'draft-1' : never();
        }) as AgentFunction,
      },
    });
    first.start(redraft, {}, { id: 'rd' });
    await settle(first);
    // In its second entry, that entry's call in flight when the process dies; the first entry's output journaled.
    expect(keys).toEqual(['rd:drafting:1', 'rd:drafting@2:1']);
    expect((await files.store.getJournal('rd:drafting:1'))?.output).toBe('"draft-1"');

    const again: string[] = [];
    const second = restarted({
      agents: {
        draft: ((n: number, ctx) => {
          again.push(ctx.idempotencyKey);
          return `redone-${n}`;
        }) as AgentFunction,
      },
      workflows: [redraft],
    });
    const [resumed] = await second.recover();
    await expect(resumed?.result).resolves.toEqual(['draft-1', 'redone-2', 'redone-3']);
    // The restored second entry keeps its key; the third entry, counted on from the stored count, has its own.
    expect(again).toEqual(['rd:drafting@2:1', 'rd:drafting@3:1']);
    await settle(second);
    expect((await files.store.listJournal?.('rd'))?.map((e) => e.key).sort()).toEqual([
      'rd:drafting:1',
      'rd:drafting@2:1',
      'rd:drafting@3:1',
    ]);
    await second.close();
  });
});
