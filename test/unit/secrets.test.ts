import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, waitFor } from 'xstate';
import { type SerializedError, workflow } from '../../src/index.js';
import { systemClock } from '../../src/machine/clock.js';
import { createStepLogic } from '../../src/machine/step-logic.js';
import type { StepActorInput, StepSnapshot } from '../../src/machine/step-types.js';
import {
  parseSealed,
  REDACTED,
  type SecretsHook,
  scrubError,
  scrubSecrets,
  sealValue,
  secretValues,
  stringifySealed,
} from '../../src/persistence/secrets.js';

const KEY = 'sk-live-4242';
const secrets = new Set([KEY]);
/** A reversible, visible hook: the sealed text never holds the secret. */
const hook: SecretsHook = {
  seal: (v) => `enc:${Buffer.from(v).toString('base64')}`,
  open: (t) => Buffer.from(t.slice(4), 'base64').toString(),
};

describe('sealing secrets inside larger strings', () => {
  const value = {
    apiKey: KEY,
    headers: { authorization: `Bearer ${KEY}` },
    log: [`called with ${KEY} twice: ${KEY}.`, 'clean'],
    n: 3,
  };

  it('seals a string holding a secret whole with a hook, and parseSealed restores it exactly', () => {
    const text = stringifySealed(value, secrets, hook);
    expect(text).not.toContain(KEY);
    expect(text).toContain('$flowstate.sealed');
    expect(parseSealed(text, hook)).toEqual(value);
    // Without the hook, the sealed strings read as redacted.
    expect(parseSealed(text, undefined)).toEqual({
      ...value,
      apiKey: REDACTED,
      headers: { authorization: REDACTED },
      log: [REDACTED, 'clean'],
    });
  });

  it('redacts each occurrence without a hook, keeping the surrounding text', () => {
    const text = stringifySealed(value, secrets, undefined);
    expect(text).not.toContain(KEY);
    expect(JSON.parse(text)).toEqual({
      apiKey: REDACTED,
      headers: { authorization: 'Bearer [redacted]' },
      log: ['called with [redacted] twice: [redacted].', 'clean'],
      n: 3,
    });
    expect(sealValue(value, secrets, undefined)).toEqual(JSON.parse(text));
  });

  it('seals a top-level string and survives a hook whose output holds the secret', () => {
    expect(parseSealed(stringifySealed(`x${KEY}y`, secrets, hook), hook)).toBe(`x${KEY}y`);
    const identity: SecretsHook = { seal: (v) => v, open: (t) => t };
    const text = stringifySealed({ a: `Bearer ${KEY}` }, secrets, identity);
    expect(parseSealed(text, identity)).toEqual({ a: `Bearer ${KEY}` });
  });

  it('redacts object keys that hold a secret, with or without a hook', () => {
    const value = { [KEY]: 1, [`user:${KEY}`]: { ok: true }, plain: 2 };
    for (const h of [hook, undefined]) {
      const text = stringifySealed(value, secrets, h);
      expect(text).not.toContain(KEY);
      expect(parseSealed(text, h)).toEqual({ [REDACTED]: 1, 'user:[redacted]': { ok: true }, plain: 2 });
    }
    // A key named __proto__ after redaction stays a plain key.
    const proto = JSON.parse(`{"__proto__${KEY}": 1}`) as Record<string, unknown>;
    expect(JSON.parse(stringifySealed(proto, new Set([KEY]), undefined))).toEqual(
      JSON.parse('{"__proto__[redacted]": 1}'),
    );
  });

  it('replaces the longest secret first where secrets overlap', () => {
    const overlapping = new Set(['abc', 'abcdef', 'cdefg']);
    expect(scrubSecrets('xabcdefgy', overlapping)).toBe('x[redacted]gy');
    expect(scrubSecrets('abc abcdef cdefg', overlapping)).toBe('[redacted] [redacted] [redacted]');
    const text = stringifySealed({ s: 'token abcdefg!' }, overlapping, undefined);
    for (const s of overlapping) expect(text).not.toContain(s);
    expect(JSON.parse(text)).toEqual({ s: 'token [redacted]g!' });
    // Regex metacharacters in secrets are taken literally.
    expect(scrubSecrets('a.b* a+b', new Set(['a.b*', 'a+b', 'zz']))).toBe('[redacted] [redacted]');
  });

  it('is plain JSON.stringify without secrets, or when no string holds one', () => {
    const value = { a: 'x', b: [1, 'y', { c: null }], d: new Date(0) };
    expect(stringifySealed(value, new Set(), hook)).toBe(JSON.stringify(value));
    expect(stringifySealed(value, secrets, hook)).toBe(JSON.stringify(value));
    expect(stringifySealed(value, secrets, undefined)).toBe(JSON.stringify(value));
    expect(sealValue(value, new Set(), hook)).toBe(value);
  });

  it('reads secret values from the input paths', () => {
    expect(secretValues(['input.apiKey', 'token', 'input.missing'], { apiKey: KEY, token: 't' })).toEqual(
      new Set([KEY, 't']),
    );
  });
});

describe('scrubSecrets and scrubError', () => {
  it('replaces every occurrence and returns the text itself when clean', () => {
    expect(scrubSecrets(`401 for Bearer ${KEY} (${KEY})`, secrets)).toBe(
      '401 for Bearer [redacted] ([redacted])',
    );
    const clean = 'nothing here';
    expect(scrubSecrets(clean, secrets)).toBe(clean);
    expect(scrubSecrets(clean, new Set())).toBe(clean);
    expect(scrubSecrets('abc', new Set(['']))).toBe('abc');
  });

  it('scrubs messages and causes, and keeps a clean error as it is', () => {
    const error: SerializedError = {
      name: 'Error',
      message: `bad key ${KEY}`,
      code: 'HTTP_401',
      cause: { name: 'Error', message: 'inner', cause: { name: 'Error', message: `deep ${KEY}` } },
    };
    const scrubbed = scrubError(error, secrets);
    expect(JSON.stringify(scrubbed)).not.toContain(KEY);
    expect(scrubbed).toEqual({
      name: 'Error',
      message: 'bad key [redacted]',
      code: 'HTTP_401',
      cause: { name: 'Error', message: 'inner', cause: { name: 'Error', message: 'deep [redacted]' } },
    });
    const clean: SerializedError = { name: 'Error', message: 'fine', cause: { name: 'E', message: 'ok' } };
    expect(scrubError(clean, secrets)).toBe(clean);
    expect(scrubError(error, undefined)).toBe(error);
    expect(scrubError(error, new Set())).toBe(error);
  });
});

/** The snapshot of a step actor once it has ended (an actor ending in error rejects `waitFor`). */
async function ended(actor: AnyActorRef): Promise<StepSnapshot> {
  await waitFor(actor, (s: { status: string }) => s.status !== 'active').catch(() => undefined);
  return actor.getSnapshot() as StepSnapshot;
}

/** A pino logger at debug level writing its lines into an array. */
function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('step logic scrubs agent errors of the run secrets', () => {
  const failing = async (input: unknown) => {
    const { apiKey } = input as { apiKey: string };
    throw new Error(`401 Unauthorized for Bearer ${apiKey}`, { cause: new Error(`key ${apiKey} revoked`) });
  };

  it('keeps the secret out of the step snapshot, its history and every log line (retry, escalation, failure)', async () => {
    const { lines, logger } = capturedLogger();
    const asked: string[] = [];
    const logic = createStepLogic({
      agents: {
        call: failing,
        supervisor: async (input: unknown) => {
          asked.push(JSON.stringify(input));
          throw new Error(`supervisor saw ${KEY}`);
        },
      },
      clock: systemClock,
      logger,
      random: () => 0,
      secretsOf: (runId) => (runId === 'run-1' ? secrets : undefined),
    });
    const input: StepActorInput = {
      workflowId: 'run-1',
      path: 'call',
      agent: 'call',
      input: { apiKey: KEY },
      retry: { attempts: 2, backoff: 'fixed', initialMs: 1, maxMs: 1, jitter: 0 },
      escalate: { to: 'supervisor', timeoutMs: 1_000, onTimeout: 'fail' },
    };
    const actor = createActor(logic, { input });
    actor.start();
    const snapshot = await ended(actor);

    expect(snapshot.status).toBe('error');
    expect(snapshot.error?.message).toBe("Supervisor 'supervisor' failed");
    expect(snapshot.error?.cause?.message).toBe('supervisor saw [redacted]');
    expect(snapshot.history[0]?.error).toMatchObject({
      message: '401 Unauthorized for Bearer [redacted]',
      cause: { message: 'key [redacted] revoked' },
    });
    expect(JSON.stringify(snapshot.error)).not.toContain(KEY);
    expect(JSON.stringify(snapshot.history)).not.toContain(KEY);
    // The supervisor is told of the scrubbed error (its input still holds the step input, as given).
    expect(asked[0]).toContain('Bearer [redacted]');

    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(['retry scheduled', 'step escalated', 'step failed']));
    for (const line of lines) expect(line).not.toContain(KEY);
  });

  it('scrubs an abort reason and the final error of a whole workflow run', async () => {
    const { lines, logger } = capturedLogger();
    const logic = createStepLogic({
      agents: {
        call: failing,
        supervisor: async () => ({ action: 'abort', reason: `gave up on ${KEY}` }),
      },
      clock: systemClock,
      logger,
      secretsOf: () => secrets,
    });
    const wf = workflow('secret-run', { secrets: ['input.apiKey'] })
      .step('call', { escalate: { to: 'supervisor', timeoutMs: 1_000 } })
      .build();
    const machine = wf.machine.provide({ actors: { 'flowstate.step': logic } });
    const actor = createActor(machine, { input: { apiKey: KEY } });
    const emitted: string[] = [];
    actor.subscribe({ next: (s) => emitted.push(JSON.stringify({ error: s.error, output: s.output })) });
    actor.start();
    const snapshot = await waitFor(actor, (s) => s.status !== 'active');
    const outcome = JSON.stringify({ error: snapshot.error, output: snapshot.output });
    expect(outcome).toContain('gave up on [redacted]');
    expect(outcome).not.toContain(KEY);
    for (const e of emitted) expect(e).not.toContain(KEY);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain(KEY);
  });

  it('leaves errors as thrown without secretsOf or without secrets', async () => {
    for (const secretsOf of [undefined, () => new Set<string>(), () => undefined]) {
      const logic = createStepLogic({
        agents: { call: failing },
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        ...(secretsOf ? { secretsOf } : {}),
      });
      const actor = createActor(logic, {
        input: {
          workflowId: 'run-2',
          path: 'call',
          agent: 'call',
          input: { apiKey: KEY },
          retry: { attempts: 1, backoff: 'fixed', initialMs: 1, maxMs: 1, jitter: 0 },
        },
      });
      actor.start();
      const snapshot = await ended(actor);
      expect(snapshot.error?.cause?.message).toBe(`401 Unauthorized for Bearer ${KEY}`);
    }
  });
});
