import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService } from '@nestjs/common';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { backoffDelay, sleep } from '@odis/config';
import { describeError, toInboundMessage, type InboundMessage } from './message.types.js';

export interface ReadTopicToEndOptions {
  topic: string;
  /**
   * Called for every record, in offset order per partition (tombstones arrive with `value: null`).
   * A throwing callback is retried with backoff until it succeeds or the reader is stopped.
   */
  onMessage: (message: InboundMessage) => void | Promise<void>;
  /** Keep delivering records produced after the catch-up point. Default false. */
  follow?: boolean;
  /** Prefix of the throw-away consumer group id. Default `<clientId>-reader`. */
  groupIdPrefix?: string;
  /** Longest a fetch waits for data, ms (new records end a fetch at once; this paces the empty fetches at rest). Default 2 000. */
  maxWaitTimeMs?: number;
  logger?: LoggerService;
}

export interface TopicReader {
  /** Records delivered so far. */
  readonly delivered: number;
  /** Whether the reader is still following the topic. */
  readonly following: boolean;
  /** Stops following (no-op when already stopped). */
  stop(): Promise<void>;
}

/** The kafkajs client part the reader needs (a {@link KafkaConnection} has it). */
export interface ReaderKafkaSource {
  readonly kafka: Pick<Kafka, 'consumer' | 'admin'>;
  readonly clientId?: string;
}

/**
 * Reads a topic (typically a compacted changelog) from its beginning up to the high watermarks that
 * existed when it was called, delivering every record to `onMessage`; the returned promise resolves
 * once every partition has been read that far (at once for an empty topic). With `follow`, the
 * reader then keeps delivering new records until `stop()`.
 *
 * It uses a consumer group of its own (random id, never committed), so every reader of every
 * replica sees the whole topic.
 */
export async function readTopicToEnd(source: ReaderKafkaSource, options: ReadTopicToEndOptions): Promise<TopicReader> {
  const logger = options.logger ?? new Logger(`TopicReader:${options.topic}`);
  const targets = await highWatermarks(source.kafka.admin(), options.topic);
  const positions = new Map<number, bigint>();
  const pendingPartitions = () => [...targets].filter(([p, target]) => (positions.get(p) ?? -1n) < target);

  let delivered = 0;
  let stopped = false;
  const stopController = new AbortController();
  let consumer: Consumer | null = null;

  let caughtUpResolve!: () => void;
  let caughtUpReject!: (e: Error) => void;
  const caughtUp = new Promise<void>((resolve, reject) => {
    caughtUpResolve = resolve;
    caughtUpReject = reject;
  });
  const checkCaughtUp = () => {
    if (pendingPartitions().length === 0) caughtUpResolve();
  };

  const reader: TopicReader = {
    get delivered() {
      return delivered;
    },
    get following() {
      return !stopped;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      stopController.abort();
      caughtUpReject(new Error(`reader of ${options.topic} stopped before it caught up`));
      await consumer?.disconnect().catch((e) => logger.warn(`disconnect: ${describeError(e)}`));
    },
  };

  // Nothing to read and nothing to follow: no consumer at all.
  if (pendingPartitions().length === 0 && !options.follow) {
    stopped = true;
    return reader;
  }

  const clientId = source.clientId ?? 'odis';
  consumer = source.kafka.consumer({
    groupId: `${options.groupIdPrefix ?? `${clientId}-reader`}-${options.topic}-${randomUUID()}`,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 2_000,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8, restartOnFailure: async () => !stopped },
  });
  const c = consumer;

  const advance = (partition: number, nextOffset: bigint) => {
    const current = positions.get(partition);
    if (current === undefined || nextOffset > current) positions.set(partition, nextOffset);
    checkCaughtUp();
  };
  // Batches made only of control records never reach eachBatch; kafkajs still reports them here.
  c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === options.topic) advance(payload.partition, BigInt(payload.lastOffset) + 1n);
  });

  await c.connect();
  await c.subscribe({ topics: [options.topic], fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale() || stopped) return;
        const inbound = toInboundMessage(batch.topic, batch.partition, message);
        for (let attempt = 1; ; attempt++) {
          try {
            await options.onMessage(inbound);
            break;
          } catch (error) {
            const delay = backoffDelay(attempt, { initial: 200, max: 5_000 }, 0.2);
            logger.error(`${batch.topic}[${batch.partition}]@${message.offset}: onMessage failed (attempt ${attempt}): ${describeError(error)}; retrying in ${delay} ms`);
            if (!(await sleep(delay, stopController.signal))) return;
            await heartbeat().catch(() => undefined);
          }
        }
        delivered++;
        resolveOffset(message.offset);
        advance(batch.partition, BigInt(message.offset) + 1n);
      }
      advance(batch.partition, BigInt(batch.lastOffset()) + 1n);
      await heartbeat();
    },
  });

  checkCaughtUp();
  try {
    await caughtUp;
  } catch (error) {
    if (stopped) return reader;
    throw error;
  }
  if (!options.follow) await reader.stop();
  return reader;
}

/** High watermark (next offset to be written) of every partition that holds at least one record. */
async function highWatermarks(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const targets = new Map<number, bigint>();
    for (const { partition, high, low } of offsets) {
      if (BigInt(high) > BigInt(low)) targets.set(partition, BigInt(high));
    }
    return targets;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
