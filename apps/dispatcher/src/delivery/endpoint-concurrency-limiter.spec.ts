import { describe, expect, it } from '@jest/globals';
import { EndpointConcurrencyLimiter } from './endpoint-concurrency-limiter.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('EndpointConcurrencyLimiter', () => {
  it('admits up to the limit per endpoint; others are independent', () => {
    const limiter = new EndpointConcurrencyLimiter(2);
    expect(limiter.tryAcquire('https://slow')).toBe(true);
    expect(limiter.tryAcquire('https://slow')).toBe(true);
    expect(limiter.tryAcquire('https://slow')).toBe(false);
    expect(limiter.tryAcquire('https://fast')).toBe(true);
    expect(limiter.inFlight('https://slow')).toBe(2);
    expect(limiter.stats()).toEqual({ endpoints: 2, active: 3, queued: 0 });
  });

  it('queues waiters per endpoint in FIFO order and hands a released slot to the next', async () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    const order: number[] = [];
    await limiter.acquire('e');
    const waiting = [1, 2, 3].map((n) => limiter.acquire('e').then(() => order.push(n)));
    await tick();
    expect(order).toEqual([]);
    expect(limiter.queued('e')).toBe(3);
    // A newcomer may not jump the queue with tryAcquire.
    limiter.release('e');
    expect(limiter.tryAcquire('e')).toBe(false);
    await tick();
    expect(order).toEqual([1]);
    limiter.release('e');
    await tick();
    limiter.release('e');
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    expect(limiter.inFlight('e')).toBe(1);
    limiter.release('e');
    expect(limiter.stats()).toEqual({ endpoints: 0, active: 0, queued: 0 });
  });

  it('a saturated endpoint never delays another endpoint', async () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    await limiter.acquire('hanging');
    const stuck = limiter.acquire('hanging');
    let other = false;
    await limiter.acquire('healthy').then(() => (other = true));
    expect(other).toBe(true);
    expect(limiter.queued('hanging')).toBe(1);
    limiter.release('hanging');
    await stuck;
  });

  it('rejects a release without a held slot and a bad limit', () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    expect(() => limiter.release('x')).toThrow(/without a held slot/);
    expect(() => new EndpointConcurrencyLimiter(0)).toThrow(RangeError);
  });
});

describe('EndpointConcurrencyLimiter: bounded waits and stall detection', () => {
  it('acquireWithin gets a slot freed in time, and gives up (withdrawn from the queue) otherwise', async () => {
    const limiter = new EndpointConcurrencyLimiter(1);
    expect(await limiter.acquireWithin('e', 0)).toBe(true);
    expect(await limiter.acquireWithin('e', 0)).toBe(false);
    const late = limiter.acquireWithin('e', 20);
    expect(limiter.queued('e')).toBe(1);
    expect(await late).toBe(false);
    expect(limiter.queued('e')).toBe(0);
    const inTime = limiter.acquireWithin('e', 1_000);
    setTimeout(() => limiter.release('e'), 5);
    expect(await inTime).toBe(true);
    expect(limiter.inFlight('e')).toBe(1);
    // A withdrawn waiter is skipped when a slot frees.
    const gaveUp = limiter.acquireWithin('e', 10);
    const patient = limiter.acquire('e');
    expect(await gaveUp).toBe(false);
    limiter.release('e');
    await patient;
    limiter.release('e');
    expect(limiter.stats()).toEqual({ endpoints: 0, active: 0, queued: 0 });
  });

  it('a busy endpoint whose slots turn over is not stalled; one that frees nothing for stallMs is', () => {
    let now = 1_000;
    const limiter = new EndpointConcurrencyLimiter(2, () => now);
    limiter.tryAcquire('e');
    limiter.tryAcquire('e');
    now += 500;
    expect(limiter.isStalled('e', 1_000)).toBe(false);
    now += 600;
    expect(limiter.isStalled('e', 1_000)).toBe(true);
    limiter.release('e');
    limiter.tryAcquire('e');
    expect(limiter.isStalled('e', 1_000)).toBe(false);
    expect(limiter.isStalled('idle', 1)).toBe(false);
  });
});
