/**
 * An object built on first touch, for exported constants that are costly to build (a zod schema needs zod).
 */

/**
 * A stand-in for the object `build` returns, built the first time anything reads, lists, checks or writes one of
 * its properties, or asks for its prototype (so `instanceof` works); every such operation is forwarded to it after.
 * A method gets the stand-in as `this` (which reads through), unless the object binds its methods to itself (zod
 * does). Identity differs: the stand-in is not `===` the real object, so code that keys a map on it sees two.
 *
 * @example
 * ```ts
 * export const Schema = lazyObject(() => zod().z.strictObject({ id: zod().z.string() }));
 * Schema.safeParse({ id: 'a' }); // builds the schema, then parses
 * ```
 */
export function lazyObject<T extends object>(build: () => T): T {
  let real: T | undefined;
  const get = (): T => {
    real ??= build();
    return real;
  };
  // A plain object target: the traps answer for the real object. A non-configurable property is mirrored onto the
  // target whenever it is reported or defined, as the Proxy invariants demand (zod schemas define `_zod` that way).
  const target = {} as T;
  const mirror = (key: string | symbol, descriptor: PropertyDescriptor | undefined) => {
    if (descriptor && descriptor.configurable === false) Object.defineProperty(target, key, descriptor);
  };
  return new Proxy(target, {
    get: (_, key) => Reflect.get(get(), key),
    set: (_, key, value) => Reflect.set(get(), key, value),
    has: (_, key) => Reflect.has(get(), key),
    deleteProperty: (_, key) => Reflect.deleteProperty(get(), key),
    ownKeys: () => Reflect.ownKeys(get()),
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
    defineProperty: (_, key, descriptor) => {
      const defined = Reflect.defineProperty(get(), key, descriptor);
      if (defined) mirror(key, Reflect.getOwnPropertyDescriptor(get(), key));
      return defined;
    },
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(get(), key);
      mirror(key, descriptor);
      return descriptor;
    },
  });
}
