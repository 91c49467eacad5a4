interface Waiter {
  grant: () => void;
}

interface EndpointSlot {
  active: number;
  /** Waiters in arrival order; `head` indexes the next one (amortised O(1) dequeue). */
  waiters: Array<Waiter | null>;
  head: number;
  /** Live (not withdrawn) waiters. */
  queued: number;
  /** Last time a request of this endpoint finished, or it went from idle to busy (epoch ms). */
  progressAt: number;
}

export interface LimiterStats {
  endpoints: number;
  active: number;
  queued: number;
}

/**
 * At most `perEndpoint` requests in flight per endpoint (URL origin). A request over the limit waits
 * in its endpoint's own FIFO queue, so a slow or hanging endpoint only ever delays itself; every
 * other endpoint keeps its own slots. It also tells a merely busy endpoint (slots turn over) from a
 * stalled one (all slots held and none freed for a while), which fan-out uses to decide between
 * waiting for a slot and handing the delivery off. Idle endpoints hold no memory.
 */
export class EndpointConcurrencyLimiter {
  private readonly slots = new Map<string, EndpointSlot>();
  private totalActive = 0;
  private totalQueued = 0;

  constructor(
    readonly perEndpoint: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(perEndpoint) || perEndpoint < 1) throw new RangeError('perEndpoint must be a positive integer');
  }

  /** Takes a slot if one is free right now and nobody is queued before us (never waits). */
  tryAcquire(endpoint: string): boolean {
    let slot = this.slots.get(endpoint);
    if (!slot) {
      slot = { active: 0, waiters: [], head: 0, queued: 0, progressAt: this.now() };
      this.slots.set(endpoint, slot);
    }
    if (slot.active >= this.perEndpoint || slot.queued > 0) return false;
    if (slot.active === 0) slot.progressAt = this.now();
    slot.active++;
    this.totalActive++;
    return true;
  }

  /** Resolves once a slot of `endpoint` is held (at once when one is free). Pair with {@link release}. */
  acquire(endpoint: string): Promise<void> {
    if (this.tryAcquire(endpoint)) return Promise.resolve();
    return new Promise<void>((resolve) => this.enqueue(endpoint, { grant: resolve }));
  }

  /**
   * Like {@link acquire} but gives up after `maxWaitMs`: resolves true with a slot held, or false
   * (no slot, nothing to release) when none was free in time.
   */
  acquireWithin(endpoint: string, maxWaitMs: number): Promise<boolean> {
    if (this.tryAcquire(endpoint)) return Promise.resolve(true);
    if (maxWaitMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        if (this.withdraw(endpoint, waiter)) resolve(false);
      }, maxWaitMs);
      this.enqueue(endpoint, waiter);
    });
  }

  /** Frees a slot; the endpoint's next waiter (if any) gets it. */
  release(endpoint: string): void {
    const slot = this.slots.get(endpoint);
    if (!slot || slot.active === 0) throw new Error(`release of ${endpoint} without a held slot`);
    slot.progressAt = this.now();
    while (slot.head < slot.waiters.length) {
      const next = slot.waiters[slot.head];
      slot.waiters[slot.head++] = null;
      if (!next) continue; // withdrawn
      slot.queued--;
      this.totalQueued--;
      this.compact(slot);
      // Hand the slot straight over: active stays the same.
      next.grant();
      return;
    }
    slot.waiters = [];
    slot.head = 0;
    slot.active--;
    this.totalActive--;
    if (slot.active === 0) this.slots.delete(endpoint);
  }

  /** All slots held and none freed for `stallMs`: the endpoint is not answering (slow or hanging). */
  isStalled(endpoint: string, stallMs: number): boolean {
    const slot = this.slots.get(endpoint);
    return !!slot && slot.active >= this.perEndpoint && this.now() - slot.progressAt >= stallMs;
  }

  inFlight(endpoint: string): number {
    return this.slots.get(endpoint)?.active ?? 0;
  }

  queued(endpoint: string): number {
    return this.slots.get(endpoint)?.queued ?? 0;
  }

  stats(): LimiterStats {
    return { endpoints: this.slots.size, active: this.totalActive, queued: this.totalQueued };
  }

  private enqueue(endpoint: string, waiter: Waiter): void {
    const slot = this.slots.get(endpoint)!;
    slot.waiters.push(waiter);
    slot.queued++;
    this.totalQueued++;
  }

  private withdraw(endpoint: string, waiter: Waiter): boolean {
    const slot = this.slots.get(endpoint);
    if (!slot) return false;
    const i = slot.waiters.indexOf(waiter, slot.head);
    if (i < 0) return false;
    slot.waiters[i] = null;
    slot.queued--;
    this.totalQueued--;
    return true;
  }

  private compact(slot: EndpointSlot): void {
    if (slot.head > 64 && slot.head * 2 > slot.waiters.length) {
      slot.waiters = slot.waiters.slice(slot.head);
      slot.head = 0;
    }
  }
}
