import { checkWebhookBodySize, decodeMessage, deliveryJob, DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import type { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import type { DeliveryExecutor, RecordSink, Settlement } from '../delivery/delivery-executor.js';
import type { WebhookRateLimiter } from '../delivery/webhook-rate-limiter.js';
import type { CallOrderingCoordinator } from '../delivery/call-ordering.coordinator.js';
import type { RoutingTable } from '../routing/routing-table.js';

/** Parks a `Retry-After` job that came back before its due time (decision 0013). */
export interface RetryAfterParking {
  followUp: AttemptFollowUp;
  /** Retries a failed produce until it succeeds (DurableSender). */
  sink: RecordSink;
  now?: () => number;
}

/** The `odis-parked` reason of a delivery parked because its webhook's rate has a backlog (decision 0013). */
export const RATE_PARK_REASON = 'rate_limited';

/** Paces the deliveries of rate-limited webhooks (decision 0013): the rate is the route's. */
export interface RatePacing {
  limiter: WebhookRateLimiter;
  table: Pick<RoutingTable, 'get'>;
  /**
   * Parks a delivery on the retry path until about `untilMs` (DeliveryExecutor.park with reason
   * `rate_limited`: same job, nothing recorded or counted), so a backlog beyond the webhook's waiting
   * room does not hold places of the partition's window. Without it every delivery waits here.
   */
  park?: (job: DeliveryJob, untilMs: number) => Promise<unknown>;
  /** The longest wait a park can be given (the longest tier's delay). */
  maxParkMs?: number;
}

/** `webhooks.deliveries` → one attempt (or a skip), recorded before the message counts as done. */
export class DeliveryJobHandler {
  constructor(
    private readonly executor: DeliveryExecutor,
    private readonly parking?: RetryAfterParking,
    private readonly pacing?: RatePacing,
    /** Per-call ordering (decision 0017); without it `order_key` is ignored. */
    private readonly ordering?: CallOrderingCoordinator,
  ) {}

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = decodeMessage(deliveryJob, message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable delivery job: ${decoded.reason}`);
    const tooLarge = checkWebhookBodySize(decoded.value.body);
    if (tooLarge) return Outcome.deadLetter(`body_too_large: ${tooLarge}`);
    // A receiver's Retry-After longer than the longest tier: the tier released the job at its bound;
    // it goes back to a tier (not an attempt, nothing recorded) until the wait is over.
    const park = this.parking?.followUp.parkAgain(decoded.value, (this.parking.now ?? Date.now)());
    if (park) {
      await this.parking!.sink.send(park.topic, [DeliveryJobCodec.encode(park.job)]);
      return Outcome.done();
    }
    const job = decoded.value;
    if (this.ordering && job.order_key !== undefined && !job.manual && (this.pacing?.table.get(job.subscription_id)?.orderByCall ?? true)) {
      // `ordering: "call"`: one delivery of the call at a time, in ingest order, or parked behind its held head.
      const turn = await this.ordering.admit(job, message.partition);
      if (turn.kind === 'parked') return Outcome.done();
      let settlement;
      try {
        settlement = await this.attempt(job);
      } catch (err) {
        this.ordering.abandon(turn.token, job);
        throw err;
      }
      await this.ordering.finish(turn.token, job, settlement, message.partition);
      return Outcome.done();
    }
    const pace = this.paceForRate(job, message);
    if (pace?.kind === 'park') {
      await this.pacing!.park!(job, pace.untilMs);
      return Outcome.done();
    }
    await this.attempt(job, pace?.slot);
    return Outcome.done();
  }

  /**
   * An unordered delivery of a rate-limited webhook: joins the webhook's queue for a send slot, or,
   * when the waiting room is full (or deliveries parked earlier are ahead of it), is parked on the
   * retry path until about its send slot, then asked again. Ordered
   * deliveries are not parked for rate (a lane attempts one delivery of a call at a time: its head
   * waits for the slot, decision 0017 keeps the order).
   */
  private paceForRate(job: DeliveryJob, message: InboundMessage): { kind: 'park'; untilMs: number } | { kind: 'wait'; slot: Promise<number> } | null {
    if (!this.pacing?.park) return null;
    const route = this.pacing.table.get(job.subscription_id);
    const rate = route?.rateLimitPerSecond;
    if (rate === undefined || !route!.active) return null;
    const returning = String(message.headers[KAFKA_HEADERS.parked] ?? '') === RATE_PARK_REASON;
    const { limiter } = this.pacing;
    const admission = limiter.admit(job.subscription_id, rate, { returning, maxParkMs: this.pacing.maxParkMs });
    if (admission.kind === 'park') return { kind: 'park', untilMs: admission.returnAt };
    // Joins the queue at once (no await between the check and the join), so a batch handled together counts right.
    return { kind: 'wait', slot: limiter.take(job.subscription_id, rate) };
  }

  private async attempt(job: DeliveryJob, slot?: Promise<number>): Promise<Settlement> {
    // A rate-limited webhook: wait for its next send slot (waiting is not an attempt).
    const rate = slot ? undefined : this.pacing?.table.get(job.subscription_id)?.rateLimitPerSecond;
    if (slot) await slot;
    else if (rate !== undefined) await this.pacing!.limiter.take(job.subscription_id, rate);
    return this.executor.runQueued(job);
  }
}
