import { describe, expect, it } from 'vitest';
import { objectSlot } from '../../src/model/object-slot.js';

describe('objectSlot', () => {
  it('keeps a value per object, out of sight of JSON and key listings', () => {
    const slot = objectSlot<number>('test.slot');
    const a = { name: 'a' };
    const b = { name: 'b' };
    slot.set(a, 1);
    slot.set(b, 2);
    slot.set(a, 3);
    expect([slot.get(a), slot.get(b), slot.get({})]).toEqual([3, 2, undefined]);
    expect(Object.keys(a)).toEqual(['name']);
    expect(JSON.stringify(a)).toBe('{"name":"a"}');
  });

  it('two slots never see each other’s values', () => {
    const one = objectSlot<string>('test.same');
    const two = objectSlot<string>('test.same');
    const owner = {};
    one.set(owner, 'one');
    expect(two.get(owner)).toBeUndefined();
    two.set(owner, 'two');
    expect([one.get(owner), two.get(owner)]).toEqual(['one', 'two']);
  });

  it('works on frozen, sealed and non-extensible objects (a WeakMap holds their values)', () => {
    const slot = objectSlot<string>('test.frozen');
    const owners = [Object.freeze({}), Object.seal({}), Object.preventExtensions({})];
    owners.forEach((owner, i) => {
      slot.set(owner, `v${i}`);
    });
    expect(owners.map((owner) => slot.get(owner))).toEqual(['v0', 'v1', 'v2']);
  });

  it('updates a value set before the object was frozen', () => {
    const slot = objectSlot<string>('test.later');
    const owner = {};
    slot.set(owner, 'before');
    Object.freeze(owner);
    // The own property is read-only now: the new value goes elsewhere, and a read sees it.
    slot.set(owner, 'after');
    expect(slot.get(owner)).toBe('after');
  });
});
