/**
 * The jobs a worker cannot run: one whose agent it lacks (another version of the agents, in a rolling upgrade), or
 * one of a protocol version newer than its own (a newer engine: running it could misread it). Such a job goes back
 * to the queue for a worker that can run it, for a while (`handBackForMs`); then its attempt fails, retryably.
 */
import { DelayedError, type Job } from 'bullmq';
import type { AgentRegistry } from '../model/agent.js';
import { AgentNotOnWorkerError, type JobData, type JobResult, PROTOCOL_VERSION } from './redis.js';
import { failure, result } from './worker-results.js';
import type { WorkerState } from './worker-state.js';

/** Why this worker cannot run `job` (said after "worker"), or `undefined` if it can. */
export function whyNotRunnable(job: Job<JobData, JobResult>, agents: AgentRegistry): string | undefined {
  if (!Object.hasOwn(agents, job.name)) return `has no agent '${job.name}'`;
  const { v } = job.data;
  if (typeof v === 'number' && v > PROTOCOL_VERSION)
    return `reads jobs of version ${PROTOCOL_VERSION}, not ${v}`;
  return undefined;
}

/**
 * A job this worker cannot run (`why`: see {@link whyNotRunnable}), handed back to the queue with a growing delay
 * (100 ms doubling to 5 s, jittered) for another worker; after `handBackForMs` of that, its attempt fails retryably,
 * naming this worker and the agent.
 */
export async function handBack(
  state: WorkerState,
  job: Job<JobData, JobResult>,
  token: string | undefined,
  why: string,
): Promise<JobResult> {
  const { queue, name, agents, logger, warned } = state;
  const times = Math.max(0, (job.attemptsStarted ?? 1) - 1);
  if (token && handBackTime(times) < state.handBackForMs) {
    state.counts.handedBack++;
    if (!warned.has(job.name)) {
      warned.add(job.name);
      logger.warn(
        { queue, worker: name, agent: job.name },
        `worker ${why}: its jobs are handed back to the queue`,
      );
    }
    const delay = Math.min(100 * 2 ** times, 5_000) * (0.5 + Math.random());
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  }
  state.counts.processed++;
  return result(
    job.data,
    failure(
      new AgentNotOnWorkerError(
        `Worker '${name}' of queue '${queue}' ${why} (it has ${Object.keys(agents).join(', ') || 'none'}); it handed job ${job.id} back to the queue ${times} times over ${Math.round(handBackTime(times) / 1000)} s and no other worker took it. Run a worker of queue '${queue}' with agent '${job.name}' (flowstate worker --agents, createWorker({ agents }))`,
      ),
      false,
    ),
  );
}

/** About how long a job was handed back after `times` hand-backs (their delays without jitter). */
function handBackTime(times: number): number {
  let total = 0;
  for (let i = 0; i < times; i++) total += Math.min(100 * 2 ** i, 5_000);
  return total;
}
