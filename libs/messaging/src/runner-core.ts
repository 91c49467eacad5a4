import { Logger, type LoggerService } from '@nestjs/common';
import { KAFKA_HEADERS, TOPICS } from '@odis/contracts';
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { backoffDelay, sleep, type BackoffOptions } from '@odis/config';
import type { ConsumerRunnerDeps, ConsumerRunnerOptions, RunnerCounters, RunnerHealth } from './consumer-runner.js';
import { buildDeadLetterRecord } from './dead-letter.js';
import { classifyFailure, extractFromKafkaHeaders, kafkaHeadersGetter, odisMetrics, SpanKind, withLogIds, withSpan, type Failure, type LogIds } from '@odis/platform';
import { registerFetchWaits, setRejoinGate } from './kafkajs-patches.js';
import { MessageProducer } from './message-producer.js';
import { describeError, normalizeOutcome, toInboundMessage, type InboundMessage, type MessageHandlerFn, type MessageOutcome } from './message.types.js';

/**
 * What both engines share (internal to libs/messaging; the public face is `ConsumerRunner`):
 * settings, the lifecycle of the kafkajs consumer (connect, join, crash, relaunch, stop),
 * `processMessage` (the failure classes of decision 0006: retry, outage, dead letter), dead-letter
 * writes and deferrals. An engine (`BatchEngine` or `PipelinedEngine`) decides how a fetched batch
 * is worked on and committed.
 */

/** The kafkajs client part the runner needs (a {@link KafkaConnection} has it). */
export interface RunnerKafkaSource {
  readonly kafka: Pick<Kafka, 'consumer' | 'producer'>;
}

/** How fetched batches are worked on and committed: default mode or pipelined mode. */
export interface RunnerEngine {
  /** kafkajs' `eachBatch`. */
  eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void>;
  /** Called once by `start()`, before the consumer is launched. */
  start(): void;
  /** A generation ends (rebalance, crash, join): forget its work; with `commit`, commit what settled first. */
  dropGeneration(consumer: Consumer, commit: boolean): void;
  /**
   * A rebalance revokes every partition (kafkajs rebalances eagerly): finish the running work
   * (at most `maxWaitMs`), commit what settled, then forget the generation. kafkajs rejoins only
   * once this resolved (kafkajs-patches.ts, rejoin gate).
   */
  revoke(consumer: Consumer, maxWaitMs: number): Promise<void>;
  /** `stop()` began: give up retry backoffs of running work (at once, before the consumer disconnects). */
  abortWork(): void;
  /** `stop()`: before kafkajs' disconnect, finish (bounded) and commit what the engine itself runs. */
  drain(consumer: Consumer | null): Promise<void>;
}

export type ProcessResult = { kind: 'settled' } | { kind: 'defer'; untilMs: number } | { kind: 'abandoned' };

interface OutageHandle {
  readonly dependency: string;
  note(reason: string): void;
  shouldLog(): boolean;
  end(): void;
}

interface Deferral {
  topic: string;
  partition: number;
  offset: string;
  untilMs: number;
  timer: NodeJS.Timeout | null;
}

const MAX_TIMER_MS = 2_147_483_647;
/** A message waiting for a dependency logs at most this often. */
const OUTAGE_LOG_EVERY_MS = 30_000;

/** Same test as kafkajs' internal `isRebalancing` (not exported by the package). */
export function isRebalancingError(error: unknown): boolean {
  const type = (error as { type?: string } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

export const tpKey = (topic: string, partition: number): string => `${topic}|${partition}`;

export class RunnerCore {
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly handler: MessageHandlerFn;
  readonly partitionConcurrency: number;
  readonly pipelined: boolean;
  private readonly partitionsConsumedConcurrently: number;
  private readonly maxRetries: number;
  private readonly retryBackoff: BackoffOptions;
  private readonly deadLetterTopic: string;
  private readonly fromBeginning: boolean;
  private readonly waitForAssignment: boolean;
  readonly stopTimeoutMs: number;
  /** How long a rebalance waits for in-flight handlers before this member rejoins. */
  readonly rebalanceDrainMs: number;
  readonly commitIntervalMs: number;
  private readonly connectBackoff: BackoffOptions;
  private readonly consumerConfig: ConsumerConfig;
  private readonly unregisterFetchWaits: () => void;
  readonly logger: LoggerService;
  private readonly producer: MessageProducer;
  private readonly ownsProducer: boolean;
  /** Set right after construction (by `ConsumerRunner`). */
  engine!: RunnerEngine;

  private consumer: Consumer | null = null;
  readonly deferred = new Map<string, Deferral>();
  assignment = new Set<string>();
  /** Generation counter: bumped on every rebalance, join and crash. */
  epoch = 0;
  private connected = false;
  private lastError: string | undefined;
  stopping = false;
  private startPromise: Promise<void> | null = null;
  private stopPromise: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  private stopDeadlinePassed = false;
  private readonly stopDeadlineListeners = new Set<() => void>();
  private joinWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private relaunching = false;
  private readonly outages = new Map<string, { since: number; waiting: number; reason: string; lastLogAt: number }>();
  private readonly counters: RunnerCounters = { outageRetries: 0, permanentFailures: 0, deadLettered: 0 };
  /** Per owned partition: last fetched high watermark and the next offset not yet processed. */
  private readonly lag = new Map<string, { topic: string; hw: number; next: number }>();
  private removeLagCollector: (() => void) | undefined;

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
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000;
    // The other members wait in JoinGroup for this one (up to the rebalance timeout): stay well below.
    this.rebalanceDrainMs = Math.max(0, Math.min(options.rebalanceDrainMs ?? 10_000, Math.floor(rebalanceTimeoutMs / 2)));
    const busyWaitMs = options.maxWaitTimeMs ?? 500;
    // Long fetches at rest, short ones while a partition is paused (libs/messaging/src/kafkajs-patches.ts).
    this.unregisterFetchWaits = registerFetchWaits(options.groupId, {
      busyMs: busyWaitMs,
      idleMs: Math.max(busyWaitMs, options.idleMaxWaitTimeMs ?? Math.min(5_000, Math.floor(sessionTimeoutMs / 6))),
    });
    this.consumerConfig = {
      groupId: options.groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: rebalanceTimeoutMs,
      maxWaitTimeInMs: busyWaitMs,
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
        this.engine.start();
        this.removeLagCollector = odisMetrics.consumerLag.addSource(() => [...this.lagByTopic()].map(([topic, value]) => ({ labels: { group: this.groupId, topic }, value })));
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
          eachBatch: (payload) => this.engine.eachBatch(consumer, payload),
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
    consumer.on(REBALANCING, (event) => {
      if (consumer !== this.consumer) return;
      // Every partition is revoked (eager rebalance). Work still running belongs to the old
      // generation: let it finish (bounded), commit what settled while the group still accepts it,
      // then forget it; kafkajs rejoins only after that (the rejoin gate), so the next owner, this
      // member again or another, starts after the finished work instead of redoing it.
      const epoch = this.epoch;
      const revoked = this.engine
        .revoke(consumer, this.stopping ? 0 : this.rebalanceDrainMs)
        .catch((error: unknown) => this.logger.warn(`revoking partitions: ${describeError(error)}`))
        .finally(() => {
          if (this.epoch === epoch) this.epoch++;
        });
      setRejoinGate(this.groupId, event.payload?.memberId, revoked);
    });
    consumer.on(CRASH, (event) => {
      if (consumer !== this.consumer) return;
      const { error, restart } = event.payload;
      this.connected = false;
      this.lastError = describeError(error);
      this.engine.dropGeneration(consumer, false);
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
    if (this.consumer) this.engine.dropGeneration(this.consumer, false);
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
    this.engine.abortWork();
    const waiters = this.joinWaiters.splice(0);
    for (const w of waiters) w.reject(new Error(`ConsumerRunner(${this.groupId}) stopped before joining its group`));
    try {
      const consumer = this.consumer;
      await this.engine.drain(consumer);
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
      this.removeLagCollector?.();
      this.unregisterFetchWaits();
      this.connected = false;
      this.assignment.clear();
    }
  }


  // ---------------------------------------------------------------- shared by both engines

  /** A promise that resolves once stop()'s timeout has elapsed (never while not stopping). */
  stopTimeoutSignal(): { promise: Promise<void>; readonly passed: boolean; dispose: () => void } {
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

  /**
   * One message, in a consumer span (named by {@link spanNameOf}) of the trace its `traceparent`
   * header names (a new trace when it has none): what the handler logs, produces and POSTs carries
   * it (decision 0018).
   */
  async processMessage(topic: string, partition: number, message: KafkaMessage, signal: AbortSignal): Promise<ProcessResult> {
    const headers = message.headers ?? {};
    const ids: LogIds = {};
    const eventId = kafkaHeadersGetter.get(headers, KAFKA_HEADERS.eventId);
    const deliveryId = kafkaHeadersGetter.get(headers, KAFKA_HEADERS.deliveryId);
    if (typeof eventId === 'string') ids.event_id = eventId;
    if (typeof deliveryId === 'string') ids.delivery_id = deliveryId;
    const result = await withSpan(spanNameOf(topic), () => this.processOne(topic, partition, message, signal), {
      parent: withLogIds(extractFromKafkaHeaders(headers), ids),
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': Number(message.offset) },
    });
    if (result.kind === 'settled') this.noteProcessed(topic, partition, message.offset);
    return result;
  }

  // ---------------------------------------------------------------- consumer lag (computed on scrape)

  /** An engine fetched a batch: the partition's high watermark, and where the batch starts. */
  noteFetched(topic: string, partition: number, highWatermark: string, firstOffset: string | undefined): void {
    const key = tpKey(topic, partition);
    const hw = Number(highWatermark);
    const entry = this.lag.get(key);
    if (entry) entry.hw = hw;
    else this.lag.set(key, { topic, hw, next: firstOffset !== undefined ? Number(firstOffset) : hw });
  }

  private noteProcessed(topic: string, partition: number, offset: string): void {
    const entry = this.lag.get(tpKey(topic, partition));
    const next = Number(offset) + 1;
    if (entry && next > entry.next) entry.next = next;
  }

  /** Records of each topic this member owns that are not processed yet (from the last fetches). */
  lagByTopic(): Map<string, number> {
    const out = new Map<string, number>(this.topics.map((t) => [t, 0]));
    for (const [key, { topic, hw, next }] of this.lag) {
      if (!this.assignment.has(key)) continue;
      out.set(topic, (out.get(topic) ?? 0) + Math.max(0, hw - next));
    }
    return out;
  }

  private async processOne(topic: string, partition: number, message: KafkaMessage, signal: AbortSignal): Promise<ProcessResult> {
    const inbound = toInboundMessage(topic, partition, message);
    const where = `${topic}[${partition}]@${message.offset}`;
    let outcome: Exclude<MessageOutcome, { kind: 'retry' }>;
    let outage: OutageHandle | null = null;
    let unknownFailures = 0;
    /** The dead-letter reason as a bounded label: the handler's own verdict unless a failure class decided. */
    let reasonClass = 'rejected';
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
          reasonClass = 'permanent';
          break;
        }
        if (failure.kind === 'unknown' && ++unknownFailures > this.maxRetries) {
          this.logger.error(`${where} failed ${unknownFailures} time(s), dead-lettering: ${failure.reason}`);
          outcome = { kind: 'dead-letter', reason: failure.reason };
          reasonClass = 'retries_exhausted';
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
        odisMetrics.deadLetters.inc({ topic, reason: reasonClass });
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


  deferPartition(consumer: Consumer, topic: string, partition: number, offset: string, untilMs: number): void {
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

function positiveInt(value: number | undefined, fallback: number): number {
  const n = Math.floor(value ?? fallback);
  return Number.isFinite(n) && n >= 1 ? n : fallback;
}

/** The consumer span's name (decision 0018): what consuming the topic does in the pipeline. */
export function spanNameOf(topic: string): string {
  if (topic === TOPICS.telephonyRaw) return 'ingest';
  if (topic.startsWith('events.')) return 'fan-out';
  if (topic === TOPICS.deliveries) return 'deliver';
  if (topic.startsWith('webhooks.retry.')) return 'retry release';
  if (topic === TOPICS.exhausted) return 'notify';
  return `consume ${topic}`;
}
