/**
 * Loading on first use. Importing the package must stay cheap (a process that only runs workflows should not pay
 * for zod, rxjs or the inspector's WebSocket stack), so the modules that only some features need are loaded when
 * one of those features is first used.
 */
import { createRequire } from 'node:module';

/**
 * A function that runs `build` on its first call and returns that same value ever after (a promise included,
 * so a dynamic `import()` behind it starts once).
 *
 * @example
 * ```ts
 * const loadLogUpdate = lazy(() => import('log-update'));
 * const { createLogUpdate } = await loadLogUpdate();
 * ```
 */
export function lazy<T>(build: () => T): () => T {
  let built: { readonly value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

const requireHere = createRequire(import.meta.url);

/**
 * A function that `require`s a package on its first call, synchronously, and returns the module after. It gets
 * the package's CommonJS build (the `require` condition of its exports), so use it for packages whose CommonJS
 * and ESM builds share their state (zod 4 keeps its registry and config on `globalThis`) or that are CommonJS for
 * `import` too (rxjs under Node).
 *
 * @example
 * ```ts
 * const zod = lazyRequire<typeof import('zod')>('zod');
 * zod().z.string().parse('a');
 * ```
 */
export function lazyRequire<T>(specifier: string): () => T {
  return lazy(() => requireHere(specifier) as T);
}
