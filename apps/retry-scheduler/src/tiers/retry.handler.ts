import { Logger, type LoggerService } from '@nestjs/common';
import { DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import type { RetrySchedule } from '@odis/config';
import { classifyFailure } from '@odis/platform';
import { releasePlan } from './release-plan.js';

/** Publishes a due job to `webhooks.deliveries`; resolves once the broker has acknowledged it (acks=all). */
export interface DeliveryPublisher {
  publish(job: DeliveryJob, raw: Buffer, headers: Record<string, string>): Promise<void>;
}

export interface RetryHandlerOptions {
  clock?: () => number;
  logger?: LoggerService;
}

/**
 * Decides about the head of one tier partition: not due → defer the partition until it is (the
 * consumer pauses it, keeps the offset uncommitted and hands the same record again then); due →
 * republish the job unchanged to `webhooks.deliveries` and only then report it done (offset
 * committed). Holds nothing in memory that a restart would need.
 */
export class RetryHandler {
  private readonly clock: () => number;
  private readonly logger: LoggerService;
  /**
   * Per tier partition, the decision about the last record handed in (several are in flight at once):
   * resolves to the instant an earlier record holds the partition until, or null when none does.
   */
  private readonly lastDecision = new Map<string, { offset: bigint; heldUntil: Promise<number | null> }>();

  constructor(
    private readonly schedule: RetrySchedule,
    private readonly publisher: DeliveryPublisher,
    options: RetryHandlerOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? new Logger('RetryHandler');
  }

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const tier = this.schedule.tierForTopic(message.topic);
    if (!tier) return Outcome.deadLetter(`${message.topic} is not a retry tier of schedule ${this.schedule.toString()}`);
    const decoded = DeliveryJobCodec.decode(message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable delivery job: ${decoded.reason}`);
    const job = decoded.value;

    const plan = releasePlan(job, tier, message.timestamp);
    // Head of line within the records in flight: a record behind one that is not due is not released
    // either, though it may be due itself (parked records — decision 0014 — can be due before records
    // written ahead of them). Released now, it would be read and released again once the partition
    // resumes at the held record (the offsets behind a deferral are not committed).
    const key = `${message.topic}|${message.partition}`;
    const offset = BigInt(message.offset);
    const previous = this.lastDecision.get(key);
    let decide!: (heldUntil: number | null) => void;
    this.lastDecision.set(key, { offset, heldUntil: new Promise((resolve) => (decide = resolve)) });
    let heldUntil: number | null = null;
    try {
      // A lower or equal offset starts a new pass over the partition (it was resumed or handed again).
      const aheadHeldUntil = previous && previous.offset < offset ? await previous.heldUntil : null;
      const now = this.clock();
      if (plan.releaseAtMs > now) heldUntil = plan.releaseAtMs;
      else if (aheadHeldUntil !== null) heldUntil = aheadHeldUntil;
    } finally {
      decide(heldUntil);
    }
    if (heldUntil !== null) return Outcome.deferUntil(heldUntil);

    const position = `${message.topic}[${message.partition}]@${message.offset}`;
    // A Retry-After job (decision 0013) may sit in a longer tier than its attempt's, and one whose wait
    // outlasts the longest tier is released at the tier's bound: the dispatcher parks it again.
    const heldByRetryAfter = job.retry_after_ms !== undefined;
    if (plan.capped && !heldByRetryAfter) {
      this.logger.warn(
        `${job.delivery_id} (${position}): due_at ${new Date(job.due_at).toISOString()} lies beyond its tier's ` +
          `${tier.delayMs} ms after the record was written; released at the tier's bound instead`,
      );
    }
    // A parked delivery (decision 0014) keeps its attempt number on whichever tier fits its wait.
    if (job.attempt !== tier.attempt && !heldByRetryAfter && !message.headers[KAFKA_HEADERS.parked]) {
      this.logger.warn(`${job.delivery_id} (${position}): attempt ${job.attempt} found in the tier of attempt ${tier.attempt}`);
    }
    try {
      await this.publisher.publish(job, message.value as Buffer, message.headers);
    } catch (err) {
      // A record Kafka can never take: dead letter with the reason. Anything else: Kafka is away; the
      // runner keeps the record at the head and tries again with backoff, shown on /ready (decision 0006).
      const failure = classifyFailure(err, 'kafka');
      if (failure.kind === 'permanent') return Outcome.deadLetter(`republish of ${job.delivery_id} failed: ${failure.reason}`);
      return Outcome.retry(failure.dependency ?? 'kafka', `republish of ${job.delivery_id} failed: ${failure.reason}`);
    }
    return Outcome.done();
  }
}
