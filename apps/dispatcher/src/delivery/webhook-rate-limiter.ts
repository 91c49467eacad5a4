interface Lane {
  /** Settles when the previous taker of this webhook has started. */
  tail: Promise<void>;
  /** When the last send of this webhook started (epoch ms). */
  lastStart: number;
  waiting: number;
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

  constructor(options: { now?: () => number; sleep?: (ms: number) => Promise<void>; maxTracked?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxTracked = options.maxTracked ?? 10_000;
  }

  /** Resolves when this send of the webhook may start (in call order); returns how long it waited (ms). */
  async take(webhookId: string, perSecond: number): Promise<number> {
    const interval = 1000 / perSecond;
    const asked = this.now();
    let lane = this.lanes.get(webhookId);
    if (!lane) {
      if (this.lanes.size >= this.maxTracked) this.forgetIdle(asked);
      lane = { tail: Promise.resolve(), lastStart: -Infinity, waiting: 0 };
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
    for (const [id, lane] of this.lanes) if (lane.waiting === 0 && now - lane.lastStart >= 1000) this.lanes.delete(id);
  }
}
