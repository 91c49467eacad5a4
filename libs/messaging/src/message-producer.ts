import { Logger, type LoggerService } from '@nestjs/common';
import kafkajs from 'kafkajs';
import type { Kafka, Message, Producer, ProducerBatch, RecordMetadata, RetryOptions, TopicMessages } from 'kafkajs';
import { backoffDelay, sleep, type BackoffOptions } from '@odis/config';
import type { KafkaConnection } from './kafka-connection.js';
import { classifyFailure, DependencyUnavailableError, injectIntoKafkaHeaders, PermanentFailureError, TRACEPARENT } from '@odis/platform';
import { describeError, type OutboundMessage } from './message.types.js';

const { Partitioners } = kafkajs;

/** Anything holding a kafkajs client, e.g. a {@link KafkaConnection}. */
export interface KafkaSource {
  readonly kafka: Pick<Kafka, 'producer'>;
}

/** The part of a kafkajs `Producer` this class uses (so tests can hand in a fake). */
export type KafkaProducerLike = Pick<Producer, 'connect' | 'disconnect' | 'sendBatch'>;

export interface MessageProducerOptions {
  /** How long a send waits for others to join its batch, ms. Default 2. 0 = next tick. */
  lingerMs?: number;
  /** Most records in one `sendBatch`. Default 500. A single larger `send` still goes out whole. */
  maxBatchSize?: number;
  /** Approximate byte budget of one `sendBatch` (keys, values, headers). Default 512 KiB. */
  maxBatchBytes?: number;
  /**
   * `sendBatch` calls in flight at once. Default 1: kafkajs serialises idempotent produce requests
   * per broker anyway, and one at a time keeps the order of records across batches.
   */
  maxInFlightBatches?: number;
  /**
   * Largest record accepted (key + value + headers, estimated). A larger one is refused at once with a
   * `PermanentFailureError`, before it can fail a batch it shares with others. Default 1,000,000
   * (below the broker's default `message.max.bytes` of 1,048,588).
   */
  maxRecordBytes?: number;
  /** Broker-side ack timeout of a produce request, ms. Default 30 000. */
  ackTimeoutMs?: number;
  /** kafkajs retry of each produce request (default 10 retries, 200 ms → 10 s). */
  retry?: RetryOptions;
  /** Backoff between connection attempts while the cluster is unreachable. */
  connectBackoffMs?: BackoffOptions;
  logger?: LoggerService;
}

export interface ProducerHealth {
  connected: boolean;
  lastError?: string;
}

interface PendingSend {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Idempotent producer (acks = all) that coalesces concurrent sends.
 *
 * kafkajs' idempotent producer holds a lock per broker for every produce request, so independent
 * `send` calls would be acknowledged one round trip after another. Here every `send` made within
 * `lingerMs` of the first pending one (or while a batch is in flight) joins one `sendBatch`; each
 * caller's promise settles with the batch that carried its records: resolved once they are
 * acknowledged by all in-sync replicas, rejected if that batch failed. One call's records are never
 * split across batches, so they are written in order and together.
 */
export class MessageProducer {
  private readonly producer: KafkaProducerLike;
  private readonly lingerMs: number;
  private readonly maxBatchSize: number;
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;
  private readonly maxRecordBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly connectBackoff: BackoffOptions;
  private readonly logger: LoggerService;

  private queue: PendingSend[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private readonly inFlightBatches = new Set<Promise<void>>();
  private connecting: Promise<void> | null = null;
  private connected = false;
  private closed = false;
  private lastError: string | undefined;
  private readonly closeController = new AbortController();

  constructor(source: KafkaConnection | KafkaSource | KafkaProducerLike, options: MessageProducerOptions = {}) {
    this.producer =
      'kafka' in source
        ? source.kafka.producer({
            idempotent: true,
            // kafkajs' idempotent producer requires at most 1 request in flight per connection
            // to keep sequence numbers valid (see kafkajs#598); throughput comes from batching.
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
            createPartitioner: Partitioners.DefaultPartitioner,
            // Explicit, so the client's retry settings (which may allow 0 retries) do not apply:
            // kafkajs refuses an idempotent producer without retries. Bounded, so a send to a
            // missing topic or an unreachable cluster fails after about a minute instead of never.
            retry: options.retry ?? { retries: 10, initialRetryTime: 200, maxRetryTime: 10_000 },
          })
        : source;
    this.lingerMs = Math.max(0, options.lingerMs ?? 2);
    this.maxBatchSize = Math.max(1, options.maxBatchSize ?? 500);
    this.maxBatchBytes = Math.max(1, options.maxBatchBytes ?? 512 * 1024);
    this.maxInFlight = Math.max(1, options.maxInFlightBatches ?? 1);
    this.maxRecordBytes = Math.max(1, options.maxRecordBytes ?? 1_000_000);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.connectBackoff = options.connectBackoffMs ?? { initial: 500, max: 10_000 };
    this.logger = options.logger ?? new Logger(MessageProducer.name);
  }

  /**
   * Connects, retrying with backoff while the cluster is unreachable (until {@link disconnect}).
   * Idempotent; `send` calls it lazily, so calling it is optional.
   */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('MessageProducer is disconnected'));
    if (!this.connecting) {
      this.connecting = this.connectWithRetry();
      // A failed connect (only possible once disconnect() was called) may be retried later.
      this.connecting.catch(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async connectWithRetry(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('MessageProducer was disconnected while connecting');
      try {
        await this.producer.connect();
        this.connected = true;
        this.lastError = undefined;
        return;
      } catch (error) {
        this.lastError = describeError(error);
        const delay = backoffDelay(attempt, this.connectBackoff, 0.2);
        this.logger.warn(`Kafka producer cannot connect (attempt ${attempt}): ${this.lastError}; retrying in ${delay} ms`);
        await sleep(delay, this.closeController.signal);
      }
    }
  }

  /** Sends records to one topic; resolves when all of them are acknowledged (acks = all). */
  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new DependencyUnavailableError('kafka', `MessageProducer is disconnected; cannot send to ${topic}`));
    if (!topic) return Promise.reject(new Error('MessageProducer.send: topic is required'));
    if (messages.length === 0) return Promise.resolve();
    const converted: Message[] = new Array(messages.length);
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const headers = withTraceparent(m.headers);
      converted[i] = m.partition === undefined ? { key: m.key ?? null, value: m.value, headers } : { key: m.key ?? null, value: m.value, headers, partition: m.partition };
      const size = estimateBytes(m);
      if (size > this.maxRecordBytes) {
        return Promise.reject(new PermanentFailureError(`record for ${topic} is about ${size} bytes, more than the limit of ${this.maxRecordBytes}`));
      }
      bytes += size;
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages: converted, bytes, resolve, reject });
      this.queuedRecords += converted.length;
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  sendOne(topic: string, message: OutboundMessage): Promise<void> {
    return this.send(topic, [message]);
  }

  /** Waits until everything queued so far is acknowledged (or failed). Never rejects. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inFlightBatches.size > 0) {
      if (this.queue.length > 0 && this.inFlight < this.maxInFlight) this.flushNow();
      await Promise.allSettled([...this.inFlightBatches]);
    }
  }

  /**
   * Flushes what is queued (waiting at most `flushTimeoutMs`), then disconnects. Later sends
   * reject; sends still unsent are rejected.
   */
  async disconnect(flushTimeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Stop reconnect attempts, but let queued records out first if we are connected.
    if (this.connected) {
      const timeout = new AbortController();
      await Promise.race([this.flush(), sleep(flushTimeoutMs, timeout.signal)]);
      timeout.abort();
    }
    this.closeController.abort();
    this.clearLinger();
    const leftovers = this.queue.splice(0);
    for (const p of leftovers) p.reject(new DependencyUnavailableError('kafka', `MessageProducer disconnected before sending to ${p.topic}`));
    this.queuedRecords = 0;
    this.queuedBytes = 0;
    try {
      await this.connecting?.catch(() => undefined);
      if (this.connected) await this.producer.disconnect();
    } finally {
      this.connected = false;
    }
  }

  health(): ProducerHealth {
    return this.lastError === undefined ? { connected: this.connected } : { connected: this.connected, lastError: this.lastError };
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return; // the in-flight batch's completion flushes
    if (this.queuedRecords >= this.maxBatchSize || this.queuedBytes >= this.maxBatchBytes) {
      this.flushNow();
      return;
    }
    if (this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.flushNow();
    }, this.lingerMs);
  }

  private clearLinger(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
  }

  private flushNow(): void {
    this.clearLinger();
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.takeBatch();
      this.inFlight++;
      const run = this.sendBatch(batch).finally(() => {
        this.inFlight--;
        this.inFlightBatches.delete(run);
        // Sends that arrived while this batch was in flight have waited long enough: go now.
        if (this.queue.length > 0) this.flushNow();
      });
      this.inFlightBatches.add(run);
    }
  }

  private takeBatch(): PendingSend[] {
    const batch: PendingSend[] = [];
    let records = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (batch.length > 0 && (records + next.messages.length > this.maxBatchSize || bytes + next.bytes > this.maxBatchBytes)) break;
      this.queue.shift();
      batch.push(next);
      records += next.messages.length;
      bytes += next.bytes;
    }
    this.queuedRecords -= records;
    this.queuedBytes -= bytes;
    return batch;
  }

  private async sendBatch(batch: PendingSend[]): Promise<void> {
    try {
      await this.produce(batch);
      this.lastError = undefined;
      for (const p of batch) p.resolve();
    } catch (error) {
      if (batch.length > 1 && classifyFailure(error).kind === 'permanent') {
        // One caller's record broke the batch (too large, invalid): it must not fail the others.
        // Send each caller's records on their own, so only the offending one is rejected.
        this.logger.warn(`a batch of ${batch.length} sends failed (${describeError(error)}); retrying them one by one`);
        for (const p of batch) await this.sendBatch([p]);
        return;
      }
      this.lastError = describeError(error);
      for (const p of batch) p.reject(error);
    }
  }

  private async produce(batch: PendingSend[]): Promise<void> {
    await this.connect();
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list) {
        for (const m of p.messages) list.push(m);
      } else {
        byTopic.set(p.topic, p.messages.slice());
      }
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const request: ProducerBatch = { acks: -1, timeout: this.ackTimeoutMs, topicMessages };
    const result: RecordMetadata[] = await this.producer.sendBatch(request);
    const failed = result?.find((r) => r.errorCode !== 0);
    if (failed) {
      const text = `produce to ${failed.topicName}[${failed.partition}] failed with error code ${failed.errorCode}`;
      throw RECORD_ERROR_CODES.has(failed.errorCode) ? new PermanentFailureError(text) : new DependencyUnavailableError('kafka', text);
    }
  }
}

/** Kafka error codes caused by the records themselves: CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD. */
const RECORD_ERROR_CODES = new Set([2, 10, 18, 87]);

function estimateBytes(m: OutboundMessage): number {
  let n = 70; // record overhead, roughly
  n += sizeOf(m.key) + sizeOf(m.value);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += k.length + Buffer.byteLength(v);
  return n;
}

function sizeOf(v: string | Buffer | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** The record's headers plus the current span's `traceparent` (decision 0018), unless it has one. */
function withTraceparent(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (headers?.[TRACEPARENT] !== undefined) return headers;
  const carrier: Record<string, string> = {};
  injectIntoKafkaHeaders(carrier);
  return carrier[TRACEPARENT] === undefined ? headers : { ...headers, ...carrier };
}
