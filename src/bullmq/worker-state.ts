/**
 * What the parts of a BullMQ worker share (cancellations, hand-backs, the processor, the close): its settings, its
 * Redis connection, the jobs running and the counts. Apart so that those parts can be files of their own without
 * importing each other in a loop.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentRegistry } from '../model/agent.js';
import type { JobData } from './redis.js';

/** A job running on this worker. */
export interface Running {
  readonly controller: AbortController;
  readonly data: JobData;
  /** Its agent was called (past the cancellation read). */
  started: boolean;
  /** Settles once the job's processor ended. */
  readonly done: Promise<void>;
}

/** One worker's state; the counts and `closing` change, the rest is set once. */
export interface WorkerState {
  readonly queue: string;
  readonly prefix: string;
  /** This worker's name in logs and errors. */
  readonly name: string;
  readonly agents: AgentRegistry;
  readonly logger: Logger;
  readonly handBackForMs: number;
  /** For commands (the cancel keys); pub/sub needs a connection of its own. */
  readonly redis: Redis;
  /** The running jobs' aborts by job id: a cancellation from any engine reaches the job that runs here. */
  readonly running: Map<string, Running>;
  readonly counts: { processed: number; skipped: number; handedBack: number };
  /** The agents whose hand-back was logged already (once each). */
  readonly warned: Set<string>;
  /** Set once `close()` was called: a job taken after it is not started. */
  closing: Promise<void> | undefined;
}
