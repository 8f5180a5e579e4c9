import type { Logger } from 'pino';

const noop = (): void => {};

/**
 * A logger that writes nothing, for `createEngine({ logger: false })`: the engine logs no line and pino is never
 * loaded (importing pino is about 15 ms of a process's start, a third of Flowstate's import to the first workflow
 * done). Agents still get a `ctx.logger` to call: the level methods, `child` (itself), `isLevelEnabled` (always
 * false), `bindings`, `flush`, `setBindings` and `level` (`'silent'`) work as a pino logger at level `silent`;
 * the rest of pino's surface (streams, events, custom levels) is not there.
 */
export const silentLogger: Logger = {
  // Shared by every engine that logs nothing: setting a level (pino allows it) is taken and changes nothing.
  get level(): string {
    return 'silent';
  },
  set level(_level: string) {},
  fatal: noop,
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  trace: noop,
  silent: noop,
  child(): Logger {
    return silentLogger;
  },
  isLevelEnabled: (): boolean => false,
  bindings: (): Record<string, never> => ({}),
  setBindings: noop,
  flush(callback?: (error?: Error) => void): void {
    callback?.();
  },
} as unknown as Logger;
