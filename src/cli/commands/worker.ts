/**
 * `flowstate worker --redis <url> --queue <name> --agents <module> [--concurrency N]`: runs the agents of a queue's
 * jobs for engines whose steps are dispatched through `flowstate/bullmq`, until SIGTERM or SIGINT (then it finishes
 * the jobs it runs and exits 0; a second signal aborts them). Redis being down does not keep it from exiting: what
 * needs Redis after the running jobs is given about 2 s.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { seedSample } from '../../db/sample/index.js';
import type { AgentRegistry } from '../../model/agent.js';
import { isName } from '../../model/names.js';
import { createLogger } from '../../observability/logger.js';
import type { CliIO } from '../demo-command.js';
import { UsageError } from '../paths-command.js';
import { openTarget, requireTemplate } from './execute.js';

/** What `flowstate worker` takes from the command line (strings as typed, checked here). */
export interface WorkerCommandOptions {
  readonly redis: string | undefined;
  readonly queue: string | undefined;
  readonly agents: string | undefined;
  readonly concurrency: string | undefined;
  readonly lock?: string | undefined;
  /** With `--agents template:<id>`: the template agents' database (a `postgres://` URL or a PGlite directory). */
  readonly db?: string | undefined;
}

/**
 * Starts a worker and resolves with the exit code once it was stopped by a signal (0), or at once on a usage
 * mistake (2) or an agents module that does not load or export a registry (1).
 *
 * @example
 * ```ts
 * await runWorkerCommand({ redis: 'redis://127.0.0.1:6379', queue: 'sql', agents: './agents.js', concurrency: '8' }, io);
 * ```
 */
export async function runWorkerCommand(options: WorkerCommandOptions, io: CliIO): Promise<number> {
  const redis = options.redis ?? process.env.FLOWSTATE_REDIS;
  const usage = (message: string) => {
    io.err(`flowstate: ${message}. Run 'flowstate --help' for usage.`);
    return 2;
  };
  if (!redis) return usage("'worker' needs --redis <url> (or $FLOWSTATE_REDIS)");
  // A URL of another kind is taken by ioredis as a host name: the worker then waited without a word (found by a new
  // user). The scheme is checked, the URL never echoed (it may hold a password).
  if (!/^rediss?:\/\/[^\s]+$/.test(redis)) return usage('--redis takes a redis:// or rediss:// URL');
  if (!options.queue) return usage("'worker' needs --queue <name>");
  // BullMQ refuses ':' (the process ended with a stack), and a name no step could give never gets a job.
  if (!isName(options.queue))
    return usage(
      `--queue takes a name a step can give as its queue (a letter, then letters, digits, '_' or '-'), got '${options.queue}'`,
    );
  if (!options.agents) return usage("'worker' needs --agents <module>");
  const concurrency = options.concurrency === undefined ? 1 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    return usage(`--concurrency expects a positive integer, got '${options.concurrency}'`);
  const lockDurationMs = options.lock === undefined ? undefined : Number(options.lock);
  if (lockDurationMs !== undefined && !(Number.isInteger(lockDurationMs) && lockDurationMs >= 100))
    return usage(`--lock expects a number of milliseconds from 100, got '${options.lock}'`);
  let agents: AgentRegistry;
  try {
    agents = await loadAgents(options.agents, options.db, io);
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    io.err(`flowstate: cannot load agents from '${options.agents}': ${(error as Error).message}`);
    return 1;
  }
  // Loaded here only: the rest of the CLI never pays for bullmq and ioredis.
  const { createWorker } = await import('../../bullmq/index.js');
  const logger = createLogger({}, process.stderr);
  const worker = createWorker({
    connection: redis,
    queue: options.queue,
    agents,
    concurrency,
    logger,
    ...(lockDurationMs ? { lockDurationMs } : {}),
  });
  // Listened to from the start: a signal while Redis is still out of reach stops the worker too.
  let signals = 0;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((done) => {
    stop = done;
  });
  const onSignal = () => {
    signals++;
    if (signals === 1) stop();
    // A second signal: the running agents are aborted (their attempts run again elsewhere).
    else void worker.close(true);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const ready = await Promise.race([worker.ready().then(() => true), stopped.then(() => false)]);
    if (ready)
      io.out(
        `flowstate worker: queue '${options.queue}', concurrency ${concurrency}, agents ${Object.keys(agents).join(', ')}`,
      );
    await stopped;
    await worker.close();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  io.out(`flowstate worker: stopped after ${worker.processed} jobs`);
  return 0;
}

/**
 * The agents a worker runs: `template:<id>` for a template's default agents on `--db` (an in-memory PGlite seeded
 * with the sample data without it, as `flowstate run` does), else a module exporting a registry.
 */
async function loadAgents(spec: string, db: string | undefined, io: CliIO): Promise<AgentRegistry> {
  if (spec.startsWith('template:')) {
    const template = requireTemplate(spec.slice('template:'.length));
    const opened = await openTarget(db);
    if (opened.inMemory) await seedSample(opened.db);
    io.out(
      `flowstate worker: the agents of template '${template.id}' on ${db ?? 'PGlite in memory (sample data)'}`,
    );
    return template.agents(opened.db);
  }
  const module = (await import(pathToFileURL(resolve(spec)).href)) as {
    agents?: AgentRegistry;
    default?: AgentRegistry;
  };
  const registry = module.agents ?? module.default;
  if (typeof registry !== 'object' || registry === null) throw new Error('it exports no `agents` registry');
  return registry;
}
