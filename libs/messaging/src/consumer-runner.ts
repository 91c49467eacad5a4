import { Logger, type LoggerService } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import type { Batch, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { buildDeadLetterRecord } from './dead-letter.js';
import { classifyFailure, type Failure } from './failure.js';
import { MessageProducer } from './message-producer.js';
import {
  describeError,
  normalizeOutcome,
  toInboundMessage,
  type InboundMessage,
  type MessageHandlerFn,
  type MessageOutcome,
} from './message.types.js';
import { PartitionOffsetTracker } from './partition-offset-tracker.js';

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
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /**
   * Longest a fetch waits for data. It also bounds how late a resumed (previously deferred)
   * partition is fetched again, so it is low by default: 500 ms.
   */
  maxWaitTimeMs?: number;
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

interface OutageHandle {
  readonly dependency: string;
  note(reason: string): void;
  shouldLog(): boolean;
  end(): void;
}

/** The kafkajs client part the runner needs (a {@link KafkaConnection} has it). */
export interface RunnerKafkaSource {
  readonly kafka: Pick<Kafka, 'consumer' | 'producer'>;
}

interface Deferral {
  topic: string;
  partition: number;
  offset: string;
  untilMs: number;
  timer: NodeJS.Timeout | null;
}

/** Pipelined mode: one partition's progress across batches, within one generation. */
interface PipeState {
  key: string;
  topic: string;
  partition: number;
  epoch: number;
  tracker: PartitionOffsetTracker;
  inFlight: number;
  lastStarted: bigint | null;
  backpressured: boolean;
  deferral: { offset: bigint; untilMs: number } | null;
  abort: AbortController;
  lastCommitAt: number;
  committing: Promise<void> | null;
  commitAgain: boolean;
  drained: Array<() => void>;
  slotWaiters: Set<() => void>;
}

function newPipe(topic: string, partition: number, epoch: number): PipeState {
  return {
    key: tpKey(topic, partition),
    topic,
    partition,
    epoch,
    tracker: new PartitionOffsetTracker(),
    inFlight: 0,
    lastStarted: null,
    backpressured: false,
    deferral: null,
    abort: new AbortController(),
    lastCommitAt: 0,
    committing: null,
    commitAgain: false,
    drained: [],
    slotWaiters: new Set(),
  };
}

type ProcessResult = { kind: 'settled' } | { kind: 'defer'; untilMs: number } | { kind: 'abandoned' };

type HaltReason = 'defer' | 'abandoned' | 'rebalance';

interface ActiveBatch {
  abort: AbortController;
}

const MAX_TIMER_MS = 2_147_483_647;
const HEARTBEAT_TICK_MS = 1_000;
/** Pipelined mode: how long a batch waits for a free slot of a full partition before pausing it. */
const PIPE_SLOT_WAIT_MS = 200;
/** A message waiting for a dependency logs at most this often. */
const OUTAGE_LOG_EVERY_MS = 30_000;

/** Same test as kafkajs' internal `isRebalancing` (not exported by the package). */
export function isRebalancingError(error: unknown): boolean {
  const type = (error as { type?: string } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

export const tpKey = (topic: string, partition: number): string => `${topic}|${partition}`;

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
 * - A rebalance drops the deferrals of partitions this member lost; work that did not finish is
 *   not committed (the new owner gets it again).
 */
export class ConsumerRunner {
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly handler: MessageHandlerFn;
  private readonly partitionConcurrency: number;
  private readonly pipelined: boolean;
  private readonly partitionsConsumedConcurrently: number;
  private readonly maxRetries: number;
  private readonly retryBackoff: BackoffOptions;
  private readonly deadLetterTopic: string;
  private readonly fromBeginning: boolean;
  private readonly waitForAssignment: boolean;
  private readonly stopTimeoutMs: number;
  private readonly commitIntervalMs: number;
  private readonly connectBackoff: BackoffOptions;
  private readonly consumerConfig: ConsumerConfig;
  private readonly logger: LoggerService;
  private readonly producer: MessageProducer;
  private readonly ownsProducer: boolean;

  private consumer: Consumer | null = null;
  private readonly deferred = new Map<string, Deferral>();
  private assignment = new Set<string>();
  private epoch = 0;
  private readonly activeBatches = new Set<ActiveBatch>();
  private connected = false;
  private lastError: string | undefined;
  private stopping = false;
  private startPromise: Promise<void> | null = null;
  private stopPromise: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  private stopDeadlinePassed = false;
  private readonly stopDeadlineListeners = new Set<() => void>();
  private joinWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private relaunching = false;
  /** Pipelined mode: per-partition state living across batches (one generation). */
  private readonly pipes = new Map<string, PipeState>();
  /** Pipelined mode: commits outside eachBatch go through the latest payload's commit function. */
  private commitFn: EachBatchPayload['commitOffsetsIfNecessary'] | null = null;
  private pipeCommitTimer: NodeJS.Timeout | null = null;
  private readonly outages = new Map<string, { since: number; waiting: number; reason: string; lastLogAt: number }>();
  private readonly counters: RunnerCounters = { outageRetries: 0, permanentFailures: 0, deadLettered: 0 };

  constructor(
    private readonly source: RunnerKafkaSource,
    options: ConsumerRunnerOptions,
    deps: ConsumerRunnerDeps = {},
  ) {
    if (!options.groupId) throw new Error('ConsumerRunner: groupId is required');
    if (!options.topics?.length) throw new Error(`ConsumerRunner(${options.groupId}): at least one topic is required`);
    if (typeof options.handler !== 'function') throw new Error(`ConsumerRunner(${options.groupId}): handler is required`);
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)];
    this.handler = options.handler;
    this.partitionConcurrency = positiveInt(options.partitionConcurrency, 1);
    this.pipelined = options.pipelined ?? false;
    this.partitionsConsumedConcurrently = positiveInt(options.partitionsConsumedConcurrently, 3);
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 5));
    this.retryBackoff = options.retryBackoffMs ?? { initial: 200, max: 5_000 };
    this.deadLetterTopic = options.deadLetterTopic ?? TOPICS.internalDlq;
    this.fromBeginning = options.fromBeginning ?? true;
    this.waitForAssignment = options.waitForAssignment ?? false;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.commitIntervalMs = Math.max(0, options.commitIntervalMs ?? 1_000);
    this.connectBackoff = options.connectBackoffMs ?? { initial: 500, max: 15_000 };
    this.logger = options.logger ?? new Logger(`ConsumerRunner:${options.groupId}`);
    this.consumerConfig = {
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      maxBytesPerPartition: options.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 10_000,
        retries: 8,
        // kafkajs restarts the consumer after a retriable crash; non-retriable ones are handled in onCrash.
        restartOnFailure: async () => !this.stopping,
      },
    };
    if (deps.producer) {
      this.producer = deps.producer;
      this.ownsProducer = false;
    } else {
      this.producer = new MessageProducer(source, { logger: this.logger });
      this.ownsProducer = true;
    }
  }

  /**
   * Connects (retrying with backoff while Kafka is unreachable), subscribes and starts consuming.
   * Resolves once the consumer has joined its group (and, with `waitForAssignment`, owns
   * partitions); rejects only if `stop()` is called first.
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error(`ConsumerRunner(${this.groupId}) is stopped`));
    if (!this.startPromise) {
      this.startPromise = (async () => {
        const joined = this.waitForJoin();
        joined.catch(() => undefined);
        if (this.pipelined && this.commitIntervalMs > 0) {
          this.pipeCommitTimer = setInterval(() => {
            for (const st of this.pipes.values()) if (st.tracker.hasUncommitted()) void this.commitPipe(st);
          }, this.commitIntervalMs);
          this.pipeCommitTimer.unref?.();
        }
        await this.launch();
        await joined;
        this.logger.log(`joined group ${this.groupId} for ${this.topics.join(', ')}`);
      })();
    }
    return this.startPromise;
  }

  /**
   * Stops fetching, waits (at most `stopTimeoutMs`) for in-flight handlers, commits what settled,
   * leaves the group and disconnects.
   */
  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopping = true;
      this.stopPromise = this.doStop();
    }
    return this.stopPromise;
  }

  health(): RunnerHealth {
    const h: RunnerHealth = { connected: this.connected };
    if (this.lastError !== undefined) h.lastError = this.lastError;
    if (this.outages.size > 0) {
      h.outages = [...this.outages].map(([dependency, o]) => ({ dependency, since: new Date(o.since).toISOString(), waiting: o.waiting, reason: o.reason }));
    }
    return h;
  }

  /** Failure-class counters since start. */
  stats(): RunnerCounters {
    return { ...this.counters };
  }

  /** Partitions this member owns, as `topic|partition` keys (for diagnostics and tests). */
  assignedPartitions(): string[] {
    return [...this.assignment];
  }

  /** Partitions currently paused by a `defer`, with the offset and instant they resume at. */
  deferredPartitions(): Array<{ topic: string; partition: number; offset: string; untilMs: number }> {
    return [...this.deferred.values()].map(({ topic, partition, offset, untilMs }) => ({ topic, partition, offset, untilMs }));
  }

  // ---------------------------------------------------------------- lifecycle

  private waitForJoin(): Promise<void> {
    return new Promise((resolve, reject) => this.joinWaiters.push({ resolve, reject }));
  }

  private async launch(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new Error(`ConsumerRunner(${this.groupId}) stopped before it started`);
      const consumer = this.source.kafka.consumer(this.consumerConfig);
      this.consumer = consumer;
      this.attachEvents(consumer);
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [...this.topics], fromBeginning: this.fromBeginning });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.partitionsConsumedConcurrently,
          eachBatch: (payload) => (this.pipelined ? this.onPipelinedBatch(consumer, payload) : this.onBatch(consumer, payload)),
        });
        return;
      } catch (error) {
        this.lastError = describeError(error);
        this.connected = false;
        const delay = backoffDelay(attempt, this.connectBackoff, 0.2);
        this.logger.warn(`cannot start consumer (attempt ${attempt}): ${this.lastError}; retrying in ${delay} ms`);
        await consumer.disconnect().catch(() => undefined);
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  private attachEvents(consumer: Consumer): void {
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP, REBALANCING } = consumer.events;
    consumer.on(GROUP_JOIN, (event) => {
      if (consumer !== this.consumer) return;
      this.onGroupJoin(event.payload.memberAssignment);
    });
    consumer.on(REBALANCING, () => {
      if (consumer !== this.consumer) return;
      // Pipelined work still running belongs to the old generation: commit what settled while the
      // group still accepts it, then forget it (the new owner starts from the committed offsets).
      this.dropPipes(consumer, true);
      this.epoch++;
    });
    consumer.on(CRASH, (event) => {
      if (consumer !== this.consumer) return;
      const { error, restart } = event.payload;
      this.connected = false;
      this.lastError = describeError(error);
      this.dropPipes(consumer, false);
      this.epoch++;
      this.logger.error(`consumer crashed: ${this.lastError}${restart ? ' (kafkajs restarts it)' : ''}`);
      if (!restart && !this.stopping) void this.relaunch();
    });
    consumer.on(DISCONNECT, () => {
      if (consumer === this.consumer) this.connected = false;
    });
    consumer.on(STOP, () => {
      if (consumer === this.consumer) this.connected = false;
    });
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    if (this.consumer) this.dropPipes(this.consumer, false);
    this.epoch++;
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(memberAssignment ?? {})) {
      for (const p of partitions) next.add(tpKey(topic, p));
    }
    // Deferrals of partitions this member lost: drop the timer and un-pause (kafkajs keeps pause
    // state across rebalances, so a partition coming back later would otherwise stay paused).
    for (const [key, d] of this.deferred) {
      if (!next.has(key)) {
        if (d.timer) clearTimeout(d.timer);
        this.deferred.delete(key);
        this.consumer?.resume([{ topic: d.topic, partitions: [d.partition] }]);
      }
    }
    this.assignment = next;
    this.connected = true;
    this.lastError = undefined;
    if (!this.waitForAssignment || next.size > 0) {
      const waiters = this.joinWaiters.splice(0);
      for (const w of waiters) w.resolve();
    }
  }

  /** kafkajs gave up on a non-retriable crash: start a fresh consumer after a backoff. */
  private async relaunch(): Promise<void> {
    if (this.relaunching) return;
    this.relaunching = true;
    try {
      const old = this.consumer;
      this.clearDeferrals();
      await old?.disconnect().catch(() => undefined);
      await sleep(backoffDelay(1, this.connectBackoff, 0.2), this.stopController.signal);
      if (!this.stopping) await this.launch();
    } catch (error) {
      if (!this.stopping) this.logger.error(`relaunch failed: ${describeError(error)}`);
    } finally {
      this.relaunching = false;
    }
  }

  private clearDeferrals(): void {
    for (const d of this.deferred.values()) if (d.timer) clearTimeout(d.timer);
    this.deferred.clear();
  }

  private async doStop(): Promise<void> {
    this.stopController.abort();
    this.clearDeferrals();
    const stopTimer = setTimeout(() => {
      this.stopDeadlinePassed = true;
      for (const listener of [...this.stopDeadlineListeners]) listener();
    }, this.stopTimeoutMs);
    // Retry backoffs and dead-letter retries give up: those messages stay uncommitted.
    for (const b of this.activeBatches) b.abort.abort();
    const waiters = this.joinWaiters.splice(0);
    for (const w of waiters) w.reject(new Error(`ConsumerRunner(${this.groupId}) stopped before joining its group`));
    try {
      const consumer = this.consumer;
      if (consumer && this.pipelined) await this.drainPipes(consumer);
      if (this.pipeCommitTimer) clearInterval(this.pipeCommitTimer);
      if (consumer) {
        // kafkajs' disconnect stops the fetch loop, waits for the running eachBatch calls (which
        // finish their in-flight handlers, bounded by stopTimeoutMs, and commit), leaves the group.
        const done = consumer.disconnect().catch((e) => this.logger.warn(`disconnect: ${describeError(e)}`));
        const guard = new AbortController();
        await Promise.race([done, sleep(this.stopTimeoutMs + 10_000, guard.signal)]);
        guard.abort();
      }
      if (this.ownsProducer) await this.producer.disconnect().catch(() => undefined);
    } finally {
      clearTimeout(stopTimer);
      this.connected = false;
      this.assignment.clear();
    }
  }

  // ---------------------------------------------------------------- processing

  private async onBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    if (this.stopping || !payload.isRunning() || payload.isStale()) return;
    if (this.deferred.has(key)) {
      // Fetched before the pause took effect (or after a kafkajs restart lost the pause state):
      // leave it unresolved; it is fetched again when the deferral ends.
      consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }

    const batchEpoch = this.epoch;
    const tracker = new PartitionOffsetTracker();
    const active: ActiveBatch = { abort: new AbortController() };
    this.activeBatches.add(active);
    const stopTimeout = this.stopTimeoutSignal();
    const inFlight = new Set<Promise<void>>();
    let halt: HaltReason | null = null;
    let deferral: { offset: bigint; untilMs: number } | null = null;
    let commitChain: Promise<void> = Promise.resolve();
    let commitQueued = false;
    let lastCommitAt = 0;
    let closed = false;

    const halted = () => halt !== null || this.stopping || !payload.isRunning() || payload.isStale() || batchEpoch !== this.epoch;
    const queueCommit = () => {
      if (commitQueued) return;
      commitQueued = true;
      commitChain = commitChain.then(async () => {
        commitQueued = false;
        lastCommitAt = Date.now();
        if (!closed) await this.commitSettled(payload, tracker, batchEpoch, false);
      });
    };
    const onResult = (offset: string, result: ProcessResult) => {
      if (closed) return; // finished after the stop timeout: this batch is over, nothing to record
      try {
        if (result.kind === 'settled') {
          if (tracker.settle(offset) && Date.now() - lastCommitAt >= this.commitIntervalMs) queueCommit();
        } else if (result.kind === 'defer') {
          const o = BigInt(offset);
          if (!deferral || o < deferral.offset) deferral = { offset: o, untilMs: result.untilMs };
          halt ??= 'defer';
        } else {
          halt ??= 'abandoned';
        }
      } catch (error) {
        this.logger.error(`${topic}[${partition}]@${offset}: bookkeeping failed: ${describeError(error)}`);
        halt ??= 'abandoned';
      }
    };

    const heartbeat = setInterval(() => {
      if (!closed && tracker.hasUncommitted() && Date.now() - lastCommitAt >= this.commitIntervalMs) queueCommit();
      payload.heartbeat().catch((error: unknown) => {
        if (isRebalancingError(error)) {
          halt ??= 'rebalance';
          active.abort.abort();
        } else {
          this.logger.debug?.(`heartbeat failed: ${describeError(error)}`);
        }
      });
    }, Math.max(50, Math.min(HEARTBEAT_TICK_MS, this.commitIntervalMs)));

    try {
      for (const message of batch.messages) {
        if (halted()) break;
        while (inFlight.size >= this.partitionConcurrency && !stopTimeout.passed) {
          await Promise.race([Promise.race(inFlight), stopTimeout.promise]);
        }
        if (halted()) break;
        tracker.track(message.offset);
        const tracked: Promise<void> = this.processMessage(topic, partition, message, active.abort.signal)
          .then((result) => onResult(message.offset, result))
          .finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      await Promise.race([Promise.all(inFlight), stopTimeout.promise]);
      if (inFlight.size > 0) {
        this.logger.warn(`${topic}[${partition}]: ${inFlight.size} handler(s) still running after the stop timeout; their messages stay uncommitted`);
      }
    } finally {
      closed = true;
      clearInterval(heartbeat);
      stopTimeout.dispose();
      this.activeBatches.delete(active);
    }

    await commitChain;
    await this.commitSettled(payload, tracker, batchEpoch, true);

    const d = deferral as { offset: bigint; untilMs: number } | null;
    if (d && !this.stopping && batchEpoch === this.epoch) {
      const from = tracker.firstUnsettled() ?? d.offset.toString();
      this.deferPartition(consumer, topic, partition, from, d.untilMs);
    }
  }

  // ---------------------------------------------------------------- pipelined mode

  private async onPipelinedBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    this.commitFn = payload.commitOffsetsIfNecessary;
    if (this.stopping || !payload.isRunning() || payload.isStale()) return;
    let st = this.pipes.get(key);
    if (this.deferred.has(key) || st?.deferral || st?.backpressured) {
      // Fetched before the pause took effect: leave it unresolved, it is fetched again later.
      consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }
    if (!st) {
      st = newPipe(topic, partition, this.epoch);
      this.pipes.set(key, st);
    }
    const pipe = st;
    for (const message of batch.messages) {
      if (this.stopping || !payload.isRunning() || payload.isStale() || this.pipes.get(key) !== pipe) break;
      const offset = BigInt(message.offset);
      if (pipe.lastStarted !== null && offset <= pipe.lastStarted) continue; // started already
      if (pipe.inFlight >= this.partitionConcurrency) {
        // Full. Fast handlers free a slot within milliseconds: wait a little for one. If none frees
        // (slow handlers), pause this partition and return, so kafkajs can fetch for the others;
        // the rest of the batch is fetched again once the partition drained to half.
        if (await this.waitForSlot(pipe, PIPE_SLOT_WAIT_MS)) {
          if (this.stopping || !payload.isRunning() || payload.isStale() || this.pipes.get(key) !== pipe) break;
        }
      }
      if (pipe.inFlight >= this.partitionConcurrency) {
        pipe.backpressured = true;
        consumer.pause([{ topic, partitions: [partition] }]);
        break;
      }
      pipe.tracker.track(message.offset);
      pipe.inFlight++;
      pipe.lastStarted = offset;
      payload.resolveOffset(message.offset); // where the next fetch starts; commits are separate
      void this.processMessage(topic, partition, message, pipe.abort.signal).then(
        (result) => this.onPipeResult(consumer, pipe, message.offset, result),
        (error: unknown) => {
          this.logger.error(`${topic}[${partition}]@${message.offset}: ${describeError(error)}`);
          this.onPipeResult(consumer, pipe, message.offset, { kind: 'abandoned' });
        },
      );
    }
  }

  private waitForSlot(pipe: PipeState, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pipe.slotWaiters.delete(wake);
        resolve(false);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      pipe.slotWaiters.add(wake);
    });
  }

  private onPipeResult(consumer: Consumer, pipe: PipeState, offset: string, result: ProcessResult): void {
    pipe.inFlight--;
    if (pipe.inFlight === 0) for (const wake of pipe.drained.splice(0)) wake();
    for (const wake of pipe.slotWaiters) wake();
    pipe.slotWaiters.clear();
    if (this.pipes.get(pipe.key) !== pipe) return; // dropped (rebalance, deferral, stop): results no longer count
    try {
      if (result.kind === 'settled') {
        if (pipe.tracker.settle(offset) && Date.now() - pipe.lastCommitAt >= this.commitIntervalMs) void this.commitPipe(pipe);
      } else if (result.kind === 'defer') {
        const o = BigInt(offset);
        if (!pipe.deferral || o < pipe.deferral.offset) pipe.deferral = { offset: o, untilMs: result.untilMs };
        consumer.pause([{ topic: pipe.topic, partitions: [pipe.partition] }]);
      }
    } catch (error) {
      this.logger.error(`${pipe.topic}[${pipe.partition}]@${offset}: bookkeeping failed: ${describeError(error)}`);
    }
    if (pipe.deferral) {
      this.finishDeferralWhenReady(consumer, pipe);
    } else if (pipe.backpressured && pipe.inFlight <= Math.floor(this.partitionConcurrency / 2) && !this.stopping) {
      pipe.backpressured = false;
      consumer.resume([{ topic: pipe.topic, partitions: [pipe.partition] }]);
    }
  }

  /**
   * A deferral takes effect once every message before the deferred one has settled (so the commit
   * can cover them): then the pipe is dropped (later messages still running are handed over again
   * after the deferral), the prefix committed, and the partition seeked back and resumed at untilMs.
   */
  private finishDeferralWhenReady(consumer: Consumer, pipe: PipeState): void {
    const d = pipe.deferral!;
    if (pipe.tracker.firstUnsettled() !== d.offset.toString()) return;
    this.pipes.delete(pipe.key);
    pipe.abort.abort();
    void this.commitPipe(pipe);
    if (!this.stopping && pipe.epoch === this.epoch) this.deferPartition(consumer, pipe.topic, pipe.partition, d.offset.toString(), d.untilMs);
  }

  private commitPipe(pipe: PipeState): Promise<void> {
    if (!this.commitFn || !pipe.tracker.hasUncommitted() || pipe.epoch !== this.epoch) return Promise.resolve();
    if (pipe.committing) {
      pipe.commitAgain = true;
      return pipe.committing;
    }
    const commit = this.commitFn;
    const offset = pipe.tracker.nextCommitOffset()!;
    pipe.lastCommitAt = Date.now();
    pipe.committing = commit({ topics: [{ topic: pipe.topic, partitions: [{ partition: pipe.partition, offset }] }] })
      .then(() => pipe.tracker.markCommitted(offset))
      .catch((error: unknown) => this.logger.warn(`commit of ${pipe.topic}[${pipe.partition}]@${offset} failed: ${describeError(error)}`))
      .finally(() => {
        pipe.committing = null;
        if (pipe.commitAgain) {
          pipe.commitAgain = false;
          void this.commitPipe(pipe);
        }
      });
    return pipe.committing;
  }

  /**
   * Forgets every pipe (rebalance, crash): optionally commits what settled first, aborts retry
   * backoffs, and un-pauses partitions paused for backpressure or a deferral that had not taken
   * effect (kafkajs keeps pause state across rebalances).
   */
  private dropPipes(consumer: Consumer, commit: boolean): void {
    for (const pipe of this.pipes.values()) {
      if (commit) void this.commitPipe(pipe);
      pipe.abort.abort();
      if ((pipe.backpressured || pipe.deferral) && !this.deferred.has(pipe.key)) {
        consumer.resume([{ topic: pipe.topic, partitions: [pipe.partition] }]);
      }
    }
    this.pipes.clear();
  }

  /** stop() in pipelined mode: no new batches, retries give up, in-flight handlers finish (bounded), commit. */
  private async drainPipes(consumer: Consumer): Promise<void> {
    try {
      consumer.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet
    }
    const pipes = [...this.pipes.values()];
    for (const pipe of pipes) pipe.abort.abort();
    const timeout = this.stopTimeoutSignal();
    try {
      await Promise.race([
        Promise.all(pipes.map((pipe) => (pipe.inFlight === 0 ? undefined : new Promise<void>((wake) => pipe.drained.push(wake))))),
        timeout.promise,
      ]);
    } finally {
      timeout.dispose();
    }
    const stuck = pipes.reduce((n, p) => n + p.inFlight, 0);
    if (stuck > 0) this.logger.warn(`${stuck} handler(s) still running after the stop timeout; their messages stay uncommitted`);
    await Promise.all(pipes.map((pipe) => this.commitPipe(pipe)));
    await Promise.all(pipes.map((pipe) => pipe.committing));
  }

  /** A promise that resolves once stop()'s timeout has elapsed (never while not stopping). */
  private stopTimeoutSignal(): { promise: Promise<void>; readonly passed: boolean; dispose: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const state = {
      promise,
      passed: this.stopDeadlinePassed,
      dispose: () => this.stopDeadlineListeners.delete(listener),
    };
    const listener = () => {
      state.passed = true;
      resolve();
    };
    if (this.stopDeadlinePassed) resolve();
    else this.stopDeadlineListeners.add(listener);
    return state;
  }

  private async processMessage(topic: string, partition: number, message: KafkaMessage, signal: AbortSignal): Promise<ProcessResult> {
    const inbound = toInboundMessage(topic, partition, message);
    const where = `${topic}[${partition}]@${message.offset}`;
    let outcome: Exclude<MessageOutcome, { kind: 'retry' }>;
    let outage: OutageHandle | null = null;
    let unknownFailures = 0;
    try {
      for (let tries = 1; ; tries++) {
        let failure: Failure;
        try {
          const result = normalizeOutcome(await this.handler(inbound));
          if (result.kind !== 'retry') {
            outcome = result;
            break;
          }
          failure = { kind: 'outage', dependency: result.dependency, reason: result.reason };
        } catch (error) {
          failure = classifyFailure(error);
        }
        if (failure.kind === 'permanent') {
          this.counters.permanentFailures++;
          this.logger.error(`${where} failed permanently, dead-lettering: ${failure.reason}`);
          outcome = { kind: 'dead-letter', reason: failure.reason };
          break;
        }
        if (failure.kind === 'unknown' && ++unknownFailures > this.maxRetries) {
          this.logger.error(`${where} failed ${unknownFailures} time(s), dead-lettering: ${failure.reason}`);
          outcome = { kind: 'dead-letter', reason: failure.reason };
          break;
        }
        if (signal.aborted) return { kind: 'abandoned' };
        let delay: number;
        if (failure.kind === 'outage') {
          // A dependency is away: this message waits for it, however long, and says so on health().
          outage ??= this.beginOutage(failure.dependency ?? 'unknown');
          outage.note(failure.reason);
          this.counters.outageRetries++;
          delay = backoffDelay(tries, this.retryBackoff, 0.1);
          if (outage.shouldLog()) this.logger.warn(`${where} waits for ${outage.dependency} (try ${tries}): ${failure.reason}; next try in ${delay} ms`);
        } else {
          delay = backoffDelay(unknownFailures, this.retryBackoff, 0.1);
          this.logger.warn(`${where} handler failed (attempt ${unknownFailures}/${this.maxRetries + 1}): ${failure.reason}; retrying in ${delay} ms`);
        }
        if (!(await sleep(delay, signal))) return { kind: 'abandoned' };
      }
    } finally {
      outage?.end();
    }
    switch (outcome.kind) {
      case 'done':
        return { kind: 'settled' };
      case 'defer':
        return { kind: 'defer', untilMs: outcome.untilMs };
      case 'dead-letter':
        if (!(await this.deadLetter(inbound, outcome.reason, signal))) return { kind: 'abandoned' };
        this.counters.deadLettered++;
        return { kind: 'settled' };
    }
  }

  /** One message waiting for a dependency; the outage is reported while any message waits. */
  private beginOutage(dependency: string): OutageHandle {
    let state = this.outages.get(dependency);
    if (!state) {
      state = { since: Date.now(), waiting: 0, reason: '', lastLogAt: 0 };
      this.outages.set(dependency, state);
    }
    state.waiting++;
    const current = state;
    let ended = false;
    return {
      dependency,
      note: (reason) => {
        current.reason = reason;
      },
      shouldLog: () => {
        const now = Date.now();
        if (now - current.lastLogAt < OUTAGE_LOG_EVERY_MS) return false;
        current.lastLogAt = now;
        return true;
      },
      end: () => {
        if (ended) return;
        ended = true;
        if (--current.waiting <= 0 && this.outages.get(dependency) === current) {
          this.outages.delete(dependency);
          this.logger.log(`${dependency} is back after ${Date.now() - current.since} ms`);
        }
      },
    };
  }

  /** Writes the dead letter, retrying until acknowledged; false if aborted first (then nothing is committed). */
  private async deadLetter(message: InboundMessage, reason: string, signal: AbortSignal): Promise<boolean> {
    const record = buildDeadLetterRecord(message, reason);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<false>((resolve) => {
      if (signal.aborted) return resolve(false);
      onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const sent = await Promise.race([this.producer.sendOne(this.deadLetterTopic, record).then(() => true as const), aborted]);
          if (sent) {
            this.logger.warn(`${message.topic}[${message.partition}]@${message.offset} dead-lettered to ${this.deadLetterTopic}: ${reason}`);
          }
          return sent;
        } catch (error) {
          this.lastError = `dead-letter to ${this.deadLetterTopic} failed: ${describeError(error)}`;
          this.logger.error(this.lastError);
          if (!(await sleep(backoffDelay(attempt, this.connectBackoff, 0.2), signal))) return false;
        }
      }
    } finally {
      // One listener per dead letter would pile up on the batch's signal (MaxListenersExceededWarning).
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Resolves and commits the settled prefix of a batch. kafkajs' `resolveOffset` marks where the
   * next fetch starts; the explicit commit goes through the batch payload, which works while the
   * consumer is stopping (the public `consumer.commitOffsets` is a no-op by then).
   */
  private async commitSettled(payload: EachBatchPayload, tracker: PartitionOffsetTracker, batchEpoch: number, final: boolean): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    if (!tracker.hasUncommitted()) return;
    const sameGeneration = batchEpoch === this.epoch;
    if (!sameGeneration && !this.assignment.has(tpKey(topic, partition))) return; // lost it: not ours to commit
    const lastSettled = tracker.lastSettledInPrefix()!;
    let next = BigInt(tracker.nextCommitOffset()!);
    const last = lastMessage(batch);
    if (last && last.offset === lastSettled) {
      // Whole batch settled: move past trailing control records too, as kafkajs' resolveOffset does.
      const batchEnd = BigInt(batch.lastOffset()) + 1n;
      if (batchEnd > next) next = batchEnd;
    }
    if (sameGeneration) payload.resolveOffset(lastSettled);
    const offset = next.toString();
    for (let attempt = 1; attempt <= (final ? 3 : 1); attempt++) {
      try {
        await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
        tracker.markCommitted(offset);
        return;
      } catch (error) {
        const reason = describeError(error);
        if (isRebalancingError(error) || attempt === (final ? 3 : 1)) {
          this.logger.warn(`commit of ${topic}[${partition}]@${offset} failed: ${reason}`);
          return;
        }
        await sleep(100 * attempt);
      }
    }
  }

  private deferPartition(consumer: Consumer, topic: string, partition: number, offset: string, untilMs: number): void {
    const key = tpKey(topic, partition);
    const previous = this.deferred.get(key);
    if (previous?.timer) clearTimeout(previous.timer);
    consumer.pause([{ topic, partitions: [partition] }]);
    consumer.seek({ topic, partition, offset });
    const entry: Deferral = { topic, partition, offset, untilMs, timer: null };
    this.deferred.set(key, entry);
    const arm = () => {
      const wait = untilMs - Date.now();
      if (wait > 0) {
        entry.timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
        entry.timer.unref?.(); // the consumer's connections keep the process alive, not this timer
        return;
      }
      entry.timer = null;
      if (this.deferred.get(key) !== entry) return;
      this.deferred.delete(key);
      if (this.stopping) return;
      (this.consumer ?? consumer).resume([{ topic, partitions: [partition] }]);
    };
    arm();
  }
}

function lastMessage(batch: Batch): KafkaMessage | undefined {
  return batch.messages[batch.messages.length - 1];
}

function positiveInt(value: number | undefined, fallback: number): number {
  const n = Math.floor(value ?? fallback);
  return Number.isFinite(n) && n >= 1 ? n : fallback;
}
