import type { LoggerService } from '@nestjs/common';
import type { BackoffOptions } from '@odis/config';
import { BatchEngine } from './batch-engine.js';
import type { MessageProducer } from './message-producer.js';
import type { MessageHandlerFn } from './message.types.js';
import { PipelinedEngine } from './pipelined-engine.js';
import { RunnerCore, type RunnerKafkaSource } from './runner-core.js';

export { isRebalancingError, tpKey, type RunnerKafkaSource } from './runner-core.js';

// The runner is split in three files besides this one: runner-core.ts (settings, lifecycle,
// failure classes in processMessage, dead letters, deferrals), batch-engine.ts (default mode) and
// pipelined-engine.ts (pipelined mode). This file is the public face.

export interface ConsumerRunnerOptions {
  groupId: string;
  topics: string[];
  handler: MessageHandlerFn;
  /** Messages of one partition handled at once. Commits still advance over the settled prefix only. Default 1. */
  partitionConcurrency?: number;
  /**
   * Pipelined mode (default false). Normally a fetched batch is finished before kafkajs fetches
   * again, so one slow message holds back every partition of the consumer. Pipelined, a batch
   * returns as soon as its messages are *started*: up to `partitionConcurrency` messages of a
   * partition are in flight across batches; a partition that reaches the limit is paused until it
   * drains to half. Commits still advance over the settled prefix only. Meant for handlers whose
   * latency varies a lot (HTTP deliveries).
   */
  pipelined?: boolean;
  /** Partitions (fetched batches) handled at once: kafkajs' `partitionsConsumedConcurrently`. Default 3. */
  partitionsConsumedConcurrently?: number;
  /**
   * Retries of a handler that throws an error of unknown class before the message is dead-lettered.
   * Default 5 (6 attempts). Permanent failures are dead-lettered at once; outages (a dependency away)
   * are retried until it is back (decision 0006).
   */
  maxRetries?: number;
  /** Backoff between those retries. Default `{ initial: 200, max: 5_000 }`. */
  retryBackoffMs?: BackoffOptions;
  /** Default `webhooks.dlq`. */
  deadLetterTopic?: string;
  /** Where a group without committed offsets starts. Default true: a new group misses nothing. */
  fromBeginning?: boolean;
  /** `start()` also waits until this member owns at least one partition. Default false. */
  waitForAssignment?: boolean;
  /** How long `stop()` waits for in-flight handlers. Default 30 000 ms. */
  stopTimeoutMs?: number;
  /**
   * How long a rebalance waits for in-flight handlers (then commits what settled) before this member
   * rejoins the group; what is still running after it may be handled again by the next owner.
   * Default 10 000 ms, at most half the rebalance timeout (the other members wait meanwhile).
   */
  rebalanceDrainMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /**
   * Longest a fetch waits for data while one of the consumer's partitions is paused (backpressure,
   * a deferral): it bounds how late a resumed partition is fetched again, so it is low. Default 500 ms.
   */
  maxWaitTimeMs?: number;
  /**
   * Longest a fetch waits for data while nothing is paused (at rest: a new record ends the fetch at
   * once, so this only paces empty fetches, and how soon a rebalance or a stop is noticed).
   * Default: a sixth of the session timeout, at most 5 000 ms, never below `maxWaitTimeMs`.
   */
  idleMaxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
  /**
   * While a batch is being worked on, its settled prefix is committed at most this often (and once
   * more when the batch ends). Default 1 000 ms.
   */
  commitIntervalMs?: number;
  /** Backoff of (re)connecting while the cluster is unreachable. Default `{ initial: 500, max: 15_000 }`. */
  connectBackoffMs?: BackoffOptions;
  logger?: LoggerService;
}

export interface ConsumerRunnerDeps {
  /** Producer for dead letters. Default: an own idempotent producer, disconnected on `stop()`. */
  producer?: MessageProducer;
}

export interface RunnerHealth {
  connected: boolean;
  lastError?: string;
  /** Dependencies messages are waiting for right now (classified outages), with since when. */
  outages?: Array<{ dependency: string; since: string; waiting: number; reason: string }>;
}

/** Counters of a runner's failure classes (decision 0006). */
export interface RunnerCounters {
  /** Tries of a message repeated because a dependency was away. */
  outageRetries: number;
  /** Messages dead-lettered at once as permanent failures (undecodable, invalid, programming errors). */
  permanentFailures: number;
  /** Messages written to the dead-letter topic, for any reason. */
  deadLettered: number;
}

/**
 * The readiness of a runner for `/ready`: joined its group, and no message is waiting for a
 * dependency. The detail names what is wrong.
 */
export function runnerReadiness(runner: { health(): RunnerHealth }): { ok: boolean; detail?: string } {
  const h = runner.health();
  if (h.outages?.length) {
    const detail = h.outages.map((o) => `waiting for ${o.dependency} since ${o.since} (${o.waiting} message(s)): ${o.reason}`).join('; ');
    return { ok: false, detail };
  }
  return h.lastError === undefined ? { ok: h.connected } : { ok: h.connected, detail: h.lastError };
}


/**
 * One kafkajs consumer (one group) with explicit per-message outcomes.
 *
 * - autoCommit is off; a partition's committed offset advances only over its settled prefix
 *   (`done`, or `dead-letter` once the dead letter is acknowledged), also with
 *   `partitionConcurrency` > 1 messages of that partition in flight.
 * - Failures are classified (`classifyFailure`, decision 0006): a permanent one (undecodable,
 *   invalid, too large, a programming error) is dead-lettered at once with its reason; an outage (a
 *   dependency away, or a `retry` outcome) is retried in place with backoff until the dependency is
 *   back, shown on `health()` meanwhile, never dead-lettered; an unknown one is retried `maxRetries`
 *   times, then dead-lettered. So a poison message never blocks its partition for longer than that
 *   and never crashes the consumer.
 * - `defer` pauses the partition, seeks back to the deferred offset and resumes the partition at
 *   `untilMs`, when the same message is handed over again. Other partitions keep flowing.
 * - A rebalance lets in-flight work finish (at most `rebalanceDrainMs`) and commits it before this
 *   member rejoins, then drops the deferrals of partitions it lost; work that did not finish by then
 *   is not committed (the new owner gets it again).
 */
export class ConsumerRunner {
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly core: RunnerCore;

  constructor(source: RunnerKafkaSource, options: ConsumerRunnerOptions, deps: ConsumerRunnerDeps = {}) {
    this.core = new RunnerCore(source, options, deps);
    this.core.engine = this.core.pipelined ? new PipelinedEngine(this.core) : new BatchEngine(this.core);
    this.groupId = this.core.groupId;
    this.topics = this.core.topics;
  }

  /**
   * Connects (retrying with backoff while Kafka is unreachable), subscribes and starts consuming.
   * Resolves once the consumer has joined its group (and, with `waitForAssignment`, owns
   * partitions); rejects only if `stop()` is called first.
   */
  start(): Promise<void> {
    return this.core.start();
  }

  /**
   * Stops fetching, waits (at most `stopTimeoutMs`) for in-flight handlers, commits what settled,
   * leaves the group and disconnects.
   */
  stop(): Promise<void> {
    return this.core.stop();
  }

  health(): RunnerHealth {
    return this.core.health();
  }

  /** Failure-class counters since start. */
  /** Unprocessed records per subscribed topic on the partitions this member owns (from the last fetches). */
  lagByTopic(): Map<string, number> {
    return this.core.lagByTopic();
  }

  stats(): RunnerCounters {
    return this.core.stats();
  }

  /** Changes on every rebalance, group join or crash: a partition owned at two values may have been owned by another member in between. */
  get assignmentEpoch(): number {
    return this.core.epoch;
  }

  /** Partitions this member owns, as `topic|partition` keys (for diagnostics and tests). */
  assignedPartitions(): string[] {
    return this.core.assignedPartitions();
  }

  /** Partitions currently paused by a `defer`, with the offset and instant they resume at. */
  deferredPartitions(): Array<{ topic: string; partition: number; offset: string; untilMs: number }> {
    return this.core.deferredPartitions();
  }
}
