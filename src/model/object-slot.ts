/**
 * A private per-object slot: a value kept on an object under a symbol of the slot's own, and gone with the object.
 *
 * Why not a `WeakMap`: a long-lived `WeakMap` keyed by short-lived objects keeps each entry's value alive through
 * V8's young-generation collections until the next full one, even once its key died (measured in the ninth session:
 * bench/findings.md, `bench/profile/young-survival.mjs`). A symbol-keyed property dies with its object in a scavenge;
 * JSON, `Object.keys` and `for...in` skip symbols, and XState never reads them. An object that cannot take a property
 * (frozen, sealed, non-extensible) falls back to a `WeakMap`.
 *
 * @example
 * ```ts
 * const seen = objectSlot<number>('example.seen');
 * seen.set(actor, 1);
 * seen.get(actor); // 1
 * ```
 */
export interface ObjectSlot<T> {
  get(owner: object): T | undefined;
  set(owner: object, value: T): void;
}

/** A new slot; `description` names its symbol (seen in a debugger's view of the object). */
export function objectSlot<T>(description: string): ObjectSlot<T> {
  const key = Symbol(description);
  let fallback: WeakMap<object, T> | undefined;
  return {
    get(owner) {
      // A value set once the object could no longer take it is in the fallback, and newer than the property's.
      if (fallback?.has(owner)) return fallback.get(owner);
      return (owner as { [key]?: T })[key];
    },
    set(owner, value) {
      // `Reflect.set` answers false (a strict-mode assignment would throw) for an object that cannot take the value.
      if (Reflect.set(owner, key, value)) return;
      fallback ??= new WeakMap();
      fallback.set(owner, value);
    },
  };
}
