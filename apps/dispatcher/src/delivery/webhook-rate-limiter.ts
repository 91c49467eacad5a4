interface Lane {
  /** Settles when the previous taker of this webhook has started. */
  tail: Promise<void>;
  /** When the last send of this webhook started (epoch ms). */
  lastStart: number;
  waiting: number;
  /** The send slot (epoch ms) promised to the last delivery parked for this webhook's rate. */
  reservedUntil: number;
}

/** What to do with a delivery of a rate-limited webhook: wait for its slot here, or park it until about then. */
export type RateAdmission = { kind: 'take' } | { kind: 'park'; slotAt: number; returnAt: number };

/** How many deliveries of a webhook at `perSecond` may wait for their slot in the consumer's window: the slots of the next second, 8 to 16. */
export function defaultMaxWaiting(perSecond: number): number {
  return Math.min(16, Math.max(8, Math.ceil(perSecond)));
}

/**
 * Paces the deliveries of rate-limited webhooks (`rate_limit_per_second`, decision 0013): the
 * sends of one webhook start one after the other, at least `1000 / N` ms apart measured between
 * their actual starts (a token bucket holding one token: no burst; a timer that fires late never
 * lets the next ones bunch up behind it), so a receiver sees at most N in any second. A delivery
 * beyond the rate waits for its turn; it neither fails nor counts as an attempt. Exact across
 * dispatcher replicas because every delivery of a rate-limited webhook goes through
 * `webhooks.deliveries`, keyed by webhook id: one partition, one consumer at a time, one process
 * paces it.
 */
export class WebhookRateLimiter {
  private readonly lanes = new Map<string, Lane>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxTracked: number;
  private readonly maxWaiting: (perSecond: number) => number;
  private readonly horizonMs: number;

  constructor(
    options: { now?: () => number; sleep?: (ms: number) => Promise<void>; maxTracked?: number; maxWaiting?: (perSecond: number) => number; horizonMs?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxTracked = options.maxTracked ?? 10_000;
    this.maxWaiting = options.maxWaiting ?? defaultMaxWaiting;
    this.horizonMs = options.horizonMs ?? 1000;
  }

  /** Deliveries of the webhook waiting for their send slot now. */
  waitingFor(webhookId: string): number {
    return this.lanes.get(webhookId)?.waiting ?? 0;
  }

  /** When the send of a delivery that called {@link take} now would start (the queue ahead of it included). */
  nextSlotAt(webhookId: string, perSecond: number): number {
    const interval = 1000 / perSecond;
    const lane = this.lanes.get(webhookId);
    const now = this.now();
    if (!lane) return now;
    return Math.max(lane.lastStart + interval, now) + lane.waiting * interval;
  }

  /**
   * Whether a delivery should wait for its slot in the consumer's window (`take`) or be parked on the
   * retry path (decision 0013): a new delivery is parked when the webhook already has its
   * `maxWaiting` deliveries waiting, or when deliveries parked earlier are promised slots ahead of it
   * (it queues behind them: the line keeps its order). It is promised the slot after the last one
   * promised and told to come back `lead` before it (at most 1 s, half the waiting room) so it finds a
   * short queue; a promise beyond `maxParkMs` (the longest tier) is not made: the delivery comes back
   * at that bound and asks again. A delivery coming back from such a park (`returning`) is let in
   * while fewer than twice `maxWaiting` wait (it was promised this time), else parked again at the
   * queue's end without moving the line. A delivery whose slot is at most `horizonMs` (1 s) away
   * always waits: a park costs a round trip through a tier (where it may sit behind longer parks of
   * the same tier partition), and places that free at the webhook's rate within a second delay nobody
   * by more than that. Only advice: the spacing of `take` keeps the rate exact.
   */
  admit(webhookId: string, perSecond: number, options: { returning?: boolean; maxParkMs?: number } = {}): RateAdmission {
    const interval = 1000 / perSecond;
    const now = this.now();
    const lane = this.lanes.get(webhookId);
    if (!lane) return { kind: 'take' };
    const maxWaiting = this.maxWaiting(perSecond);
    const queueEnd = Math.max(lane.lastStart + interval, now) + lane.waiting * interval;
    const lead = Math.min(1000, (maxWaiting / 2) * interval);
    const maxParkMs = options.maxParkMs ?? Number.POSITIVE_INFINITY;
    if (options.returning) {
      if (lane.waiting < 2 * maxWaiting || queueEnd - now <= this.horizonMs) return { kind: 'take' };
      return { kind: 'park', slotAt: queueEnd, returnAt: Math.min(now + maxParkMs, Math.max(now, queueEnd - lead)) };
    }
    const promisedAhead = lane.reservedUntil >= queueEnd - interval / 2;
    if (lane.waiting < maxWaiting && !promisedAhead) return { kind: 'take' };
    const slotAt = Math.max(queueEnd, lane.reservedUntil + interval);
    if (slotAt - now <= this.horizonMs) return { kind: 'take' };
    const returnAt = Math.max(now, slotAt - lead);
    if (returnAt - now > maxParkMs) return { kind: 'park', slotAt, returnAt: now + maxParkMs };
    lane.reservedUntil = slotAt;
    return { kind: 'park', slotAt, returnAt };
  }

  /** Resolves when this send of the webhook may start (in call order); returns how long it waited (ms). */
  async take(webhookId: string, perSecond: number): Promise<number> {
    const interval = 1000 / perSecond;
    const asked = this.now();
    let lane = this.lanes.get(webhookId);
    if (!lane) {
      if (this.lanes.size >= this.maxTracked) this.forgetIdle(asked);
      lane = { tail: Promise.resolve(), lastStart: -Infinity, waiting: 0, reservedUntil: -Infinity };
      this.lanes.set(webhookId, lane);
    }
    const previous = lane.tail;
    let started!: () => void;
    lane.tail = new Promise<void>((resolve) => (started = resolve));
    lane.waiting++;
    try {
      await previous;
      for (let wait = lane.lastStart + interval - this.now(); wait > 0; wait = lane.lastStart + interval - this.now()) await this.sleep(wait);
      lane.lastStart = this.now();
      return lane.lastStart - asked;
    } finally {
      lane.waiting--;
      started();
    }
  }

  /** Webhooks tracked (for tests and stats). */
  get size(): number {
    return this.lanes.size;
  }

  /** Drops webhooks nobody waits for whose next send could start now anyway. */
  private forgetIdle(now: number): void {
    for (const [id, lane] of this.lanes) if (lane.waiting === 0 && now - lane.lastStart >= 1000 && lane.reservedUntil < now) this.lanes.delete(id);
  }
}
