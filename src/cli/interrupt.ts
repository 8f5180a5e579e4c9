/**
 * Ctrl-C for the commands that open a database and run templates (`run`, `showcase`): trapped from the moment the
 * command starts, so it works in every phase. While a run goes, the first Ctrl-C cancels it (its agents' signals
 * fire, the command reports the cancelled run and exits 130); anywhere else (opening PGlite, seeding, the report),
 * and on a second Ctrl-C, the command exits 130 at once: nothing there is worth waiting for.
 */
import type { CliIO } from './demo-command.js';

/** The exit code of a command stopped with Ctrl-C (128 + SIGINT), the shell's convention. */
export const INTERRUPTED = 130;

/** A trapped Ctrl-C: see {@link trapInterrupt}. */
export interface Interrupt {
  /** Whether Ctrl-C was pressed. */
  readonly interrupted: boolean;
  /**
   * Runs `work` with Ctrl-C cancelling through `cancel` (once) instead of exiting. `cancel` is set before `work`
   * starts, so no Ctrl-C falls between the run's start and its registration.
   */
  cancelling<T>(cancel: () => void, work: () => Promise<T>): Promise<T>;
  /** Removes the trap (Ctrl-C then has Node's default effect again). */
  release(): void;
}

/** Options of {@link trapInterrupt}. */
export interface InterruptOptions {
  /** Ends the process. @default process.exit */
  readonly exit?: (code: number) => void;
  /** How long a cancelled run may take to end before the command exits anyway. @default 5000 */
  readonly graceMs?: number;
  /** The process whose SIGINT is trapped. @default process */
  readonly target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Traps SIGINT for a command (see the module comment). Always `release()` it when the command ends.
 *
 * @example
 * ```ts
 * const interrupt = trapInterrupt(io);
 * try {
 *   const db = await openTarget(url); // Ctrl-C here exits 130 at once
 *   const outcome = await interrupt.cancelling(() => run.cancel('Ctrl-C'), () => run.result);
 * } finally {
 *   interrupt.release();
 * }
 * ```
 */
export function trapInterrupt(io: CliIO, options: InterruptOptions = {}): Interrupt {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const target = options.target ?? process;
  let cancel: (() => void) | undefined;
  let interrupted = false;
  const onSignal = () => {
    const first = !interrupted;
    interrupted = true;
    if (first && cancel) {
      io.err('flowstate: interrupted (Ctrl-C): cancelling the run; Ctrl-C again to quit at once');
      const stop = cancel;
      cancel = undefined;
      stop();
      // A run that does not end (an agent that ignores its signal) must not hold the terminal.
      setTimeout(() => exit(INTERRUPTED), options.graceMs ?? 5_000).unref();
      return;
    }
    io.err('flowstate: interrupted (Ctrl-C)');
    exit(INTERRUPTED);
  };
  target.on('SIGINT', onSignal);
  return {
    get interrupted() {
      return interrupted;
    },
    cancelling: async (stop, work) => {
      cancel = stop;
      try {
        return await work();
      } finally {
        cancel = undefined;
      }
    },
    release: () => {
      target.off('SIGINT', onSignal);
    },
  };
}
