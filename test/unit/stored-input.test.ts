import { describe, expect, it } from 'vitest';
import { RUN_INPUT_MARK, withoutRunInput, withRunInput } from '../../src/persistence/stored-input.js';

const marker = { [RUN_INPUT_MARK]: 1 };

/** A persisted snapshot shaped as the engine's: root context, a step actor, a child workflow with its own step. */
function persisted(input: unknown, childInput: unknown) {
  return {
    status: 'active',
    value: { fan: {} },
    context: { workflowId: 'r', input, results: { a: 1 } },
    children: {
      step: { src: 'agent', snapshot: { status: 'active', input: { path: 'step', input } } },
      child: {
        src: 'workflow',
        snapshot: {
          status: 'active',
          context: { workflowId: 'r', input: childInput },
          children: {
            inner: { snapshot: { status: 'active', input: { path: 'child/inner', input: childInput } } },
          },
        },
      },
    },
  };
}

describe('withoutRunInput', () => {
  it('replaces the run input object wherever it stands, copying only the way to it', () => {
    const input = { items: [1, 2, 3] };
    const own = { label: 'child' };
    const original = persisted(input, own);
    const before = JSON.stringify(original);
    const out = withoutRunInput(original, input);
    expect(JSON.stringify(original)).toBe(before);
    expect(out.context.input).toEqual(marker);
    expect(out.children.step.snapshot.input).toEqual({ path: 'step', input: marker });
    // A child workflow's own (mapped) input is no copy of the record: it stays, and its subtree is not copied.
    expect(out.children.child).toBe(original.children.child);
    expect(out.context.results).toBe(original.context.results);
  });

  it('leaves a copy equal by value alone (only the very object is the record), and primitive inputs', () => {
    const input = { items: [1, 2, 3] };
    const copy = persisted(structuredClone(input), 'x');
    expect(withoutRunInput(copy, input)).toBe(copy);
    const numeric = persisted(5, 5);
    expect(withoutRunInput(numeric, 5)).toBe(numeric);
    const none = persisted(undefined, undefined);
    expect(withoutRunInput(none, undefined)).toBe(none);
  });

  it('marks a child workflow given the run input unmapped, down to its own steps', () => {
    const input = ['a', 'b'];
    const out = withoutRunInput(persisted(input, input), input);
    expect(out.children.child.snapshot.context.input).toEqual(marker);
    expect(out.children.child.snapshot.children.inner.snapshot.input.input).toEqual(marker);
    expect(JSON.stringify(out)).not.toContain('"b"');
  });
});

describe('withRunInput', () => {
  it('puts the very record input back where the markers stand, so the next checkpoint leaves it out again', () => {
    const input = { items: [1, 2, 3] };
    const stored = JSON.parse(JSON.stringify(withoutRunInput(persisted(input, input), input)));
    const record = { items: [1, 2, 3] };
    const restored = withRunInput(stored, record);
    expect(restored.context.input).toBe(record);
    expect(restored.children.step.snapshot.input.input).toBe(record);
    expect(restored.children.child.snapshot.context.input).toBe(record);
    expect(restored.children.child.snapshot.children.inner.snapshot.input.input).toBe(record);
    expect(withoutRunInput(restored, record)).toEqual(withoutRunInput(persisted(input, input), input));
  });

  it('adopts the record input in a snapshot of the old form where it is equal, and keeps what differs', () => {
    const record = { items: [1, 2, 3] };
    const old = JSON.parse(JSON.stringify(persisted({ items: [1, 2, 3] }, { label: 'child' })));
    const restored = withRunInput(old, record);
    expect(restored.context.input).toBe(record);
    expect(restored.children.step.snapshot.input.input).toBe(record);
    expect(restored.children.child.snapshot.context.input).toEqual({ label: 'child' });
    expect(restored.children.child.snapshot.context.input).not.toBe(record);
  });

  it('leaves an old snapshot whose input differs from the record (a hand-written context) as it is', () => {
    const old = persisted({ items: [9] }, 'child');
    const restored = withRunInput(structuredClone(old), { items: [1] });
    expect(restored).toEqual(old);
  });

  it('passes through what is no snapshot', () => {
    expect(withRunInput(undefined, { a: 1 })).toBeUndefined();
    expect(withRunInput('text', { a: 1 })).toBe('text');
  });
});
