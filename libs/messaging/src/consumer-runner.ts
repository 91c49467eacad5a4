import { Logger, type LoggerService } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import type { Batch, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { buildDeadLetterRecord } from './dead-letter.js';
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
  /** Partitions (fetched batches) handled at once: kafkajs' `partitionsConsumedConcurrently`. Default 3. */
  partitionsConsumedConcurrently?: number;
  /** Retries of a throwing handler before the message is dead-lettered. Default 5 (6 attempts). */
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

type ProcessResult = { kind: 'settled' } | { kind: 'defer'; untilMs: number } | { kind: 'abandoned' };

type HaltReason = 'defer' | 'abandoned' | 'rebalance';

interface ActiveBatch {
  abort: AbortController;
}

const MAX_TIMER_MS = 2_147_483_647;
const HEARTBEAT_TICK_MS = 1_000;

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
 * - A throwing handler is retried in place with exponential backoff, `maxRetries` times; then the
 *   message is dead-lettered with the error message as reason, so a poison message never blocks its
 *   partition and never crashes the consumer.
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
    return this.lastError === undefined ? { connected: this.connected } : { connected: this.connected, lastError: this.lastError };
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
          eachBatch: (payload) => this.onBatch(consumer, payload),
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
      this.epoch++;
    });
    consumer.on(CRASH, (event) => {
      if (consumer !== this.consumer) return;
      const { error, restart } = event.payload;
      this.connected = false;
      this.lastError = describeError(error);
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
    let outcome: MessageOutcome;
    for (let attempt = 1; ; attempt++) {
      try {
        outcome = normalizeOutcome(await this.handler(inbound));
        break;
      } catch (error) {
        const reason = describeError(error);
        if (attempt > this.maxRetries) {
          this.logger.error(`${topic}[${partition}]@${message.offset} failed ${attempt} time(s), dead-lettering: ${reason}`);
          outcome = { kind: 'dead-letter', reason };
          break;
        }
        if (signal.aborted) return { kind: 'abandoned' };
        const delay = backoffDelay(attempt, this.retryBackoff, 0.1);
        this.logger.warn(`${topic}[${partition}]@${message.offset} handler failed (attempt ${attempt}/${this.maxRetries + 1}): ${reason}; retrying in ${delay} ms`);
        if (!(await sleep(delay, signal))) return { kind: 'abandoned' };
      }
    }
    switch (outcome.kind) {
      case 'done':
        return { kind: 'settled' };
      case 'defer':
        return { kind: 'defer', untilMs: outcome.untilMs };
      case 'dead-letter':
        return (await this.deadLetter(inbound, outcome.reason, signal)) ? { kind: 'settled' } : { kind: 'abandoned' };
    }
  }

  /** Writes the dead letter, retrying until acknowledged; false if aborted first (then nothing is committed). */
  private async deadLetter(message: InboundMessage, reason: string, signal: AbortSignal): Promise<boolean> {
    const record = buildDeadLetterRecord(message, reason);
    const aborted = new Promise<false>((resolve) => {
      if (signal.aborted) resolve(false);
      else signal.addEventListener('abort', () => resolve(false), { once: true });
    });
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
