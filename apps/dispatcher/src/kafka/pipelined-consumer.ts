import { Logger, type LoggerService } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import {
  backoffDelay,
  buildDeadLetterRecord,
  describeError,
  normalizeOutcome,
  PartitionOffsetTracker,
  sleep,
  toInboundMessage,
  type InboundMessage,
  type MessageHandlerFn,
  type MessageOutcome,
  type MessageProducer,
} from '@odis/messaging';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';

/**
 * A consumer whose partitions keep flowing while earlier messages are still being handled.
 *
 * Why not `ConsumerRunner`: it finishes every message of a fetched batch before returning the batch,
 * and kafkajs (2.x) fetches again from a broker only after every batch of the previous fetch is
 * done. One webhook endpoint hanging for the whole timeout would therefore stop every partition of
 * the group for that long. Here a batch returns as soon as its messages are *started*:
 *
 * - up to `maxInFlightPerPartition` messages of a partition are in flight at once, across batches;
 *   fetched messages beyond that wait in the partition's backlog (at most one fetched batch), and
 *   that partition alone is paused until its backlog is started and it drains to `resumeBelow`;
 * - the committed offset of a partition advances only over its contiguous prefix of settled
 *   messages (PartitionOffsetTracker), so a crash re-delivers everything not finished: at least once;
 * - handler outcomes as in `ConsumerRunner`: `done`; `dead-letter` (record to the dead-letter topic,
 *   then settled); a throwing handler is retried with backoff and finally dead-lettered. `defer` is
 *   not supported here (it would need the partition to stop) and is dead-lettered with a reason;
 * - a rebalance starts every partition afresh from its committed offset (messages still in flight
 *   from before may run twice, which at-least-once allows), and settles of the old generation are
 *   not committed.
 *
 * Candidate for libs/messaging (`ConsumerRunner` option `pipelined`), see docs/decisions/0004.
 */
export interface PipelinedConsumerOptions {
  groupId: string;
  topics: string[];
  handler: MessageHandlerFn;
  /** Messages of one partition in flight at once. */
  maxInFlightPerPartition: number;
  /**
   * A paused partition resumes (is fetched again) once its backlog is started and its in-flight
   * count is at most this. Default: one below the window, so the next batch is fetched while the
   * window is still busy.
   */
  resumeBelow?: number;
  /** Retries of a throwing handler before the message is dead-lettered. Default 5. */
  maxRetries?: number;
  /** Default `webhooks.dlq`. */
  deadLetterTopic?: string;
  /** Where a group without committed offsets starts. Default true. */
  fromBeginning?: boolean;
  /** Commits of a partition are coalesced over this interval. Default 50 ms. */
  commitIntervalMs?: number;
  /** How long `stop()` waits for in-flight handlers. Default 15 000 ms. */
  stopTimeoutMs?: number;
  maxWaitTimeMs?: number;
  /**
   * Most bytes fetched per partition and request. Kept modest (default 256 KiB): a paused partition
   * drops the rest of its fetched batch and fetches it again on resume.
   */
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  logger?: LoggerService;
}

interface PartitionState {
  topic: string;
  partition: number;
  generation: number;
  tracker: PartitionOffsetTracker;
  /** Highest offset taken from a fetched batch (started or waiting in the backlog). */
  lastTaken: bigint;
  /** Fetched messages not started yet because the window was full (FIFO; `backlogHead` is next). */
  backlog: KafkaMessage[];
  backlogHead: number;
  inFlight: number;
  paused: boolean;
  commitTimer: NodeJS.Timeout | null;
  committing: Promise<void> | null;
}

export interface PipelinedConsumerHealth {
  connected: boolean;
  lastError?: string;
}

export class PipelinedConsumer {
  private readonly logger: LoggerService;
  private readonly window: number;
  private readonly resumeBelow: number;
  private readonly maxRetries: number;
  private readonly deadLetterTopic: string;
  private readonly commitIntervalMs: number;
  private readonly stopTimeoutMs: number;
  private consumer: Consumer | null = null;
  private readonly states = new Map<string, PartitionState>();
  private generation = 0;
  private connected = false;
  private lastError: string | undefined;
  private stopping = false;
  private readonly stopController = new AbortController();
  private totalInFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private joinWaiters: Array<() => void> = [];
  private startPromise: Promise<void> | null = null;
  private stopPromise: Promise<void> | null = null;

  constructor(
    private readonly source: { readonly kafka: Pick<Kafka, 'consumer'> },
    private readonly options: PipelinedConsumerOptions,
    private readonly deadLetters: Pick<MessageProducer, 'sendOne'>,
  ) {
    this.logger = options.logger ?? new Logger(`PipelinedConsumer:${options.groupId}`);
    this.window = Math.max(1, Math.floor(options.maxInFlightPerPartition));
    this.resumeBelow = Math.max(0, Math.min(this.window - 1, options.resumeBelow ?? this.window - 1));
    this.maxRetries = Math.max(0, options.maxRetries ?? 5);
    this.deadLetterTopic = options.deadLetterTopic ?? TOPICS.internalDlq;
    this.commitIntervalMs = Math.max(0, options.commitIntervalMs ?? 50);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  }

  get inFlight(): number {
    return this.totalInFlight;
  }

  health(): PipelinedConsumerHealth {
    return this.lastError === undefined ? { connected: this.connected } : { connected: this.connected, lastError: this.lastError };
  }

  pausedPartitions(): string[] {
    return [...this.states.values()].filter((s) => s.paused).map((s) => `${s.topic}|${s.partition}`);
  }

  /** Connects (retrying while Kafka is unreachable), subscribes and runs; resolves once the group is joined. */
  start(): Promise<void> {
    this.startPromise ??= this.launch();
    return this.startPromise;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  // ------------------------------------------------------------------ lifecycle

  private async launch(): Promise<void> {
    const joined = new Promise<void>((resolve) => this.joinWaiters.push(resolve));
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new Error(`consumer ${this.options.groupId} stopped before it started`);
      const consumer = this.source.kafka.consumer({
        groupId: this.options.groupId,
        sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? 3_000,
        maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 50,
        maxBytesPerPartition: this.options.maxBytesPerPartition ?? 256 * 1024,
        allowAutoTopicCreation: false,
        retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8, restartOnFailure: async () => !this.stopping },
      });
      this.consumer = consumer;
      this.attachEvents(consumer);
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: (payload) => this.onBatch(consumer, payload),
        });
        break;
      } catch (error) {
        this.lastError = describeError(error);
        this.connected = false;
        const delay = backoffDelay(attempt, { initial: 500, max: 15_000 }, 0.2);
        this.logger.warn(`cannot start consumer (attempt ${attempt}): ${this.lastError}; retrying in ${delay} ms`);
        await consumer.disconnect().catch(() => undefined);
        await sleep(delay, this.stopController.signal);
      }
    }
    await joined;
    this.logger.log(`joined group ${this.options.groupId} for ${this.options.topics.join(', ')}`);
  }

  private attachEvents(consumer: Consumer): void {
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, () => {
      if (consumer !== this.consumer) return;
      // Every partition restarts from its committed offset in the new generation.
      this.generation++;
      for (const state of this.states.values()) {
        if (state.commitTimer) clearTimeout(state.commitTimer);
        if (state.paused) consumer.resume([{ topic: state.topic, partitions: [state.partition] }]);
      }
      this.states.clear();
      this.connected = true;
      this.lastError = undefined;
      for (const w of this.joinWaiters.splice(0)) w();
    });
    consumer.on(CRASH, (event) => {
      if (consumer !== this.consumer) return;
      this.connected = false;
      this.lastError = describeError(event.payload.error);
      this.generation++;
      this.states.clear();
      this.logger.error(`consumer crashed: ${this.lastError}${event.payload.restart ? ' (kafkajs restarts it)' : ''}`);
      if (!event.payload.restart && !this.stopping) {
        this.startPromise = null;
        void consumer.disconnect().catch(() => undefined).then(() => (this.stopping ? undefined : this.start().catch(() => undefined)));
      }
    });
    consumer.on(DISCONNECT, () => {
      if (consumer === this.consumer) this.connected = false;
    });
    consumer.on(STOP, () => {
      if (consumer === this.consumer) this.connected = false;
    });
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    const consumer = this.consumer;
    // No new batches: pause everything, let in-flight handlers finish (bounded), commit, leave.
    if (consumer) {
      try {
        consumer.pause(this.options.topics.map((topic) => ({ topic })));
      } catch {
        // not running yet
      }
    }
    const drained = new Promise<void>((resolve) => {
      if (this.totalInFlight === 0) resolve();
      else this.idleWaiters.push(resolve);
    });
    const timer = new AbortController();
    await Promise.race([drained, sleep(this.stopTimeoutMs, timer.signal)]);
    timer.abort();
    this.stopController.abort();
    if (this.totalInFlight > 0) this.logger.warn(`${this.totalInFlight} message(s) still in flight at stop: left uncommitted`);
    await Promise.allSettled([...this.states.values()].map((s) => this.commitNow(s)));
    await consumer?.disconnect().catch((e) => this.logger.warn(`disconnect: ${describeError(e)}`));
    this.connected = false;
  }

  // ------------------------------------------------------------------ processing

  private stateFor(topic: string, partition: number): PartitionState {
    const key = `${topic}|${partition}`;
    let state = this.states.get(key);
    if (!state) {
      state = {
        topic,
        partition,
        generation: this.generation,
        tracker: new PartitionOffsetTracker(),
        lastTaken: -1n,
        backlog: [],
        backlogHead: 0,
        inFlight: 0,
        paused: false,
        commitTimer: null,
        committing: null,
      };
      this.states.set(key, state);
    }
    return state;
  }

  private async onBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    if (this.stopping || !isRunning() || isStale()) return;
    const state = this.stateFor(batch.topic, batch.partition);
    let last: string | null = null;
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      last = message.offset;
      if (offset <= state.lastTaken) continue; // already taken in this generation
      state.lastTaken = offset;
      state.backlog.push(message);
    }
    // Taken (started or queued here), so the next fetch continues after them; commits still wait
    // for each message to settle.
    if (last !== null) resolveOffset(last);
    this.pump(consumer, state);
    if (state.backlogHead < state.backlog.length && !state.paused) {
      // The window is full: stop fetching this partition alone until its backlog is started.
      state.paused = true;
      consumer.pause([{ topic: state.topic, partitions: [state.partition] }]);
    }
    await payload.heartbeat().catch(() => undefined);
  }

  /** Starts backlog messages while the partition's window has room; resumes fetching once drained. */
  private pump(consumer: Consumer, state: PartitionState): void {
    while (state.inFlight < this.window && state.backlogHead < state.backlog.length && !this.stopping) {
      const message = state.backlog[state.backlogHead];
      state.backlog[state.backlogHead++] = undefined as never;
      state.tracker.track(message.offset);
      state.inFlight++;
      this.totalInFlight++;
      void this.process(consumer, state, message);
    }
    if (state.backlogHead >= state.backlog.length) {
      state.backlog = [];
      state.backlogHead = 0;
      if (state.paused && state.inFlight <= this.resumeBelow && !this.stopping) {
        state.paused = false;
        try {
          consumer.resume([{ topic: state.topic, partitions: [state.partition] }]);
        } catch (error) {
          this.logger.warn(`resume of ${state.topic}[${state.partition}] failed: ${describeError(error)}`);
        }
      }
    }
  }

  private async process(consumer: Consumer, state: PartitionState, message: KafkaMessage): Promise<void> {
    const inbound = toInboundMessage(state.topic, state.partition, message);
    let settled = false;
    try {
      const outcome = await this.handle(inbound);
      if (outcome === null) return; // abandoned at stop: stays uncommitted
      if (outcome.kind === 'dead-letter' || outcome.kind === 'defer') {
        const reason = outcome.kind === 'defer' ? 'handler deferred a message; this consumer does not defer' : outcome.reason;
        if (!(await this.deadLetter(inbound, reason))) return;
      }
      settled = true;
    } catch (error) {
      this.logger.error(`${state.topic}[${state.partition}]@${message.offset}: ${describeError(error)}`);
    } finally {
      state.inFlight--;
      this.totalInFlight--;
      if (state.generation === this.generation && this.states.get(`${state.topic}|${state.partition}`) === state) {
        if (settled && state.tracker.settle(message.offset)) this.scheduleCommit(state);
        this.pump(consumer, state);
      }
      if (this.totalInFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** The handler's outcome, retrying a throwing handler; null when abandoned because of stop. */
  private async handle(inbound: InboundMessage): Promise<MessageOutcome | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return normalizeOutcome(await this.options.handler(inbound));
      } catch (error) {
        const reason = describeError(error);
        if (attempt > this.maxRetries) {
          this.logger.error(`${inbound.topic}[${inbound.partition}]@${inbound.offset} failed ${attempt} time(s), dead-lettering: ${reason}`);
          return { kind: 'dead-letter', reason };
        }
        const delay = backoffDelay(attempt, { initial: 200, max: 5_000 }, 0.1);
        this.logger.warn(`${inbound.topic}[${inbound.partition}]@${inbound.offset} handler failed (attempt ${attempt}): ${reason}; retrying in ${delay} ms`);
        if (!(await sleep(delay, this.stopController.signal))) return null;
      }
    }
  }

  private async deadLetter(message: InboundMessage, reason: string): Promise<boolean> {
    const record = buildDeadLetterRecord(message, reason);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deadLetters.sendOne(this.deadLetterTopic, record);
        this.logger.warn(`${message.topic}[${message.partition}]@${message.offset} dead-lettered to ${this.deadLetterTopic}: ${reason}`);
        return true;
      } catch (error) {
        this.logger.error(`dead-letter to ${this.deadLetterTopic} failed: ${describeError(error)}`);
        if (!(await sleep(backoffDelay(attempt, { initial: 500, max: 10_000 }, 0.2), this.stopController.signal))) return false;
      }
    }
  }

  private scheduleCommit(state: PartitionState): void {
    if (state.commitTimer || this.stopping) return;
    state.commitTimer = setTimeout(() => {
      state.commitTimer = null;
      void this.commitNow(state);
    }, this.commitIntervalMs);
  }

  private async commitNow(state: PartitionState): Promise<void> {
    if (state.commitTimer) {
      clearTimeout(state.commitTimer);
      state.commitTimer = null;
    }
    if (state.committing) await state.committing.catch(() => undefined);
    if (!state.tracker.hasUncommitted() || state.generation !== this.generation || !this.consumer) return;
    const offset = state.tracker.nextCommitOffset()!;
    const run = this.consumer
      .commitOffsets([{ topic: state.topic, partition: state.partition, offset }])
      .then(() => state.tracker.markCommitted(offset))
      .catch((error: unknown) => {
        this.logger.warn(`commit of ${state.topic}[${state.partition}]@${offset} failed: ${describeError(error)}`);
        if (!this.stopping) this.scheduleCommit(state);
      });
    state.committing = run.finally(() => {
      state.committing = null;
    });
    await state.committing;
  }
}
