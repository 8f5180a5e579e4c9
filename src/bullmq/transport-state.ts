/**
 * What the parts of the BullMQ transport share (attach, check, cancel, and the factory that wires them): its Redis
 * connection, the attempts waiting for their result, and the counts. Apart so that those parts can be files of their
 * own without importing each other in a loop.
 */
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentJob } from '../machine/transport.js';
import type { JobData } from './redis.js';

/** Counts since the transport started, for monitoring and tests. */
export interface TransportStats {
  /** Jobs added to a queue. */
  readonly dispatched: number;
  /** Calls that found their job already in Redis (a re-dispatch after a takeover) and attached to it. */
  readonly reattached: number;
  /** Jobs Redis lost while in flight, added again. */
  readonly requeued: number;
  /** Jobs an engine aborted, that another owner still waited for and added again. */
  readonly rerun: number;
  /**
   * Jobs of another run found under an attempt's id (a run id used again while the earlier run's job was still in
   * Redis), replaced by this attempt's job instead of taken.
   */
  readonly replaced: number;
  /** Jobs still waiting in their queue when their attempt was cancelled or timed out, removed from it. */
  readonly removed: number;
}

/** A queue's connections: jobs go in through `queue`, their ends come back through `events`. */
export interface Lane {
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly ready: Promise<unknown>;
}

/** An attempt waiting for its result. */
export interface Pending {
  readonly key: string;
  readonly id: string;
  readonly job: AgentJob;
  readonly lane: Lane;
  /** What the job carries. */
  readonly data: JobData;
  /** The attempt's {@link fingerprintOf}: its agent and input. */
  readonly fingerprint: string;
  /** Known to be in Redis (added, or found there): the periodic check watches it. */
  added: boolean;
  /** The job under the attempt's id is another run's, still running: replaced once it ends. */
  foreign: boolean;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/** One transport's state; `closed` and the counts change, the rest is set once. */
export interface TransportState {
  readonly prefix: string;
  readonly logger: Logger;
  /** How long a finished job is kept, in seconds (BullMQ's `removeOnComplete.age`). */
  readonly keepSeconds: number;
  readonly redis: Redis;
  /** The attempts waiting, by queue and job id: a call that is no longer here (settled, replaced) is not touched. */
  readonly pending: Map<string, Pending>;
  readonly stats: { -readonly [K in keyof TransportStats]: number };
  closed: boolean;
}

/** The job's hash in Redis (BullMQ's key layout: prefix, queue, id). */
export const jobKey = (state: TransportState, p: Pending) => `${state.prefix}:${p.job.queue}:${p.id}`;
