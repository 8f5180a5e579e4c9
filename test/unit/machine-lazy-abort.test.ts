import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../../src/machine/lazy-abort.js';

describe('LazyAbort', () => {
  it('makes no signal until one is read, and aborts it like an eager controller', () => {
    const abort = new LazyAbort();
    const signal = abort.signal;
    expect(abort.signal).toBe(signal);
    const reasons: unknown[] = [];
    signal.addEventListener('abort', () => reasons.push(signal.reason));
    const reason = new Error('timed out');
    abort.abort(reason);
    abort.abort(new Error('ignored: already aborted'));
    expect(signal.aborted).toBe(true);
    expect(reasons).toEqual([reason]);
  });

  it('gives a signal read after the abort already aborted, with the reason', () => {
    const abort = new LazyAbort();
    const reason = new Error('cancelled');
    abort.abort(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });
});
