import type { RetrySchedule } from '@odis/config';
import { DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';

export type ParkReason = 'circuit_open' | 'endpoint_stalled' | 'rate_limited';

export interface ParkedDelivery {
  topic: string;
  message: OutboundMessage;
  dueAt: number;
}

/**
 * Parks a delivery that is not attempted now (its endpoint's breaker is open, or the endpoint is
 * stalled and its queue full) on the retry path: the **same job** — same attempt number, same
 * previous attempts, nothing counted — with `due_at` = when it may be tried again, on the tier
 * topic whose constant delay is the smallest one ≥ that wait. A tier partition is ordered by due
 * time because every record of it is written with the tier's delay; a parked record whose wait is at
 * most the tier's delay is never due later than the records written after it, so it never holds
 * another webhook's retry back (it may itself be released up to `delay - wait` late when records
 * written before it are still pending). Waits beyond the last tier's delay are cut to it (the
 * retry-scheduler would cap them there anyway). The record carries `odis-parked: <reason>` so the
 * retry-scheduler does not warn that its attempt number differs from the tier's (decision 0014).
 */
export class DeliveryParker {
  constructor(
    private readonly schedule: RetrySchedule,
    private readonly now: () => number = Date.now,
  ) {}

  /** False when the schedule has no retry tier (a single attempt): nothing can be parked. */
  get canPark(): boolean {
    return this.schedule.holdingTierFor(0) !== undefined;
  }

  /** The longest wait a parked delivery can be given (the longest tier delay). */
  get maxWaitMs(): number {
    return this.schedule.holdingTierFor(Number.POSITIVE_INFINITY)?.delayMs ?? 0;
  }

  plan(job: DeliveryJob, untilMs: number, reason: ParkReason): ParkedDelivery {
    const now = this.now();
    const wait = Math.min(Math.max(untilMs - now, 0), this.maxWaitMs);
    // The same tier choice as a Retry-After wait (decision 0013): the shortest delay that holds it.
    const tier = this.schedule.holdingTierFor(wait);
    if (!tier) throw new Error('the retry schedule has no tier to park on');
    const dueAt = now + wait;
    const encoded = DeliveryJobCodec.encode({ ...job, due_at: dueAt });
    return { topic: tier.topic, dueAt, message: { ...encoded, headers: { ...encoded.headers, [KAFKA_HEADERS.parked]: reason } } };
  }
}
