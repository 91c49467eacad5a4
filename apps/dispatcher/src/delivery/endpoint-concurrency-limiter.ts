interface EndpointSlot {
  active: number;
  /** Waiters in arrival order; `head` indexes the next one (amortised O(1) dequeue). */
  waiters: Array<() => void>;
  head: number;
}

export interface LimiterStats {
  endpoints: number;
  active: number;
  queued: number;
}

/**
 * At most `perEndpoint` requests in flight per endpoint (URL origin). A request over the limit waits
 * in its endpoint's own FIFO queue, so a slow or hanging endpoint only ever delays itself; every
 * other endpoint keeps its own slots. Idle endpoints hold no memory.
 */
export class EndpointConcurrencyLimiter {
  private readonly slots = new Map<string, EndpointSlot>();
  private totalActive = 0;
  private totalQueued = 0;

  constructor(readonly perEndpoint: number) {
    if (!Number.isInteger(perEndpoint) || perEndpoint < 1) throw new RangeError('perEndpoint must be a positive integer');
  }

  /** Takes a slot if one is free right now (never waits). */
  tryAcquire(endpoint: string): boolean {
    let slot = this.slots.get(endpoint);
    if (!slot) {
      slot = { active: 0, waiters: [], head: 0 };
      this.slots.set(endpoint, slot);
    }
    if (slot.active >= this.perEndpoint || slot.head < slot.waiters.length) return false;
    slot.active++;
    this.totalActive++;
    return true;
  }

  /** Resolves once a slot of `endpoint` is held (at once when one is free). Pair with {@link release}. */
  acquire(endpoint: string): Promise<void> {
    if (this.tryAcquire(endpoint)) return Promise.resolve();
    const slot = this.slots.get(endpoint)!;
    this.totalQueued++;
    return new Promise<void>((resolve) => slot.waiters.push(resolve));
  }

  /** Frees a slot; the endpoint's next waiter (if any) gets it. */
  release(endpoint: string): void {
    const slot = this.slots.get(endpoint);
    if (!slot || slot.active === 0) throw new Error(`release of ${endpoint} without a held slot`);
    if (slot.head < slot.waiters.length) {
      // Hand the slot straight to the next waiter: active stays the same.
      const next = slot.waiters[slot.head];
      slot.waiters[slot.head++] = undefined as never;
      if (slot.head > 64 && slot.head * 2 > slot.waiters.length) {
        slot.waiters = slot.waiters.slice(slot.head);
        slot.head = 0;
      }
      this.totalQueued--;
      next();
      return;
    }
    slot.active--;
    this.totalActive--;
    if (slot.active === 0) this.slots.delete(endpoint);
  }

  inFlight(endpoint: string): number {
    return this.slots.get(endpoint)?.active ?? 0;
  }

  queued(endpoint: string): number {
    const slot = this.slots.get(endpoint);
    return slot ? slot.waiters.length - slot.head : 0;
  }

  stats(): LimiterStats {
    return { endpoints: this.slots.size, active: this.totalActive, queued: this.totalQueued };
  }
}
