/**
 * `flowstate/bullmq`: agent steps on BullMQ workers over Redis. The engine hands the attempts of steps on a queue
 * to `bullmqTransport`; `createWorker` (or `flowstate worker`) runs them in other processes. See docs/distributed.md.
 */

export { AgentNotOnWorkerError, jobIdOf, NotJsonError, type RedisConnection } from './redis.js';
export {
  type BullmqTransport,
  type BullmqTransportOptions,
  bullmqTransport,
  type TransportStats,
} from './transport.js';
export { createWorker, type FlowstateWorker, type WorkerOptions } from './worker.js';
