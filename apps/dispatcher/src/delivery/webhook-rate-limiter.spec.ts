import { describe, expect, it } from '@jest/globals';
import { defaultMaxWaiting, WebhookRateLimiter } from './webhook-rate-limiter.js';

/** A limiter on a fake clock whose sleeps advance the clock; records when each send would start. */
function fake() {
  let now = 1_000_000;
  const limiter = new WebhookRateLimiter({
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  });
  return { limiter, clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('WebhookRateLimiter (decision 0013)', () => {
  it('spaces the sends of one webhook 1000/N ms apart: never more than N in any second', async () => {
    const { limiter, clock } = fake();
    const starts: number[] = [];
    const waits: number[] = [];
    for (let i = 0; i < 200; i++) {
      waits.push(await limiter.take('wh_a', 20));
      starts.push(clock());
    }
    expect(waits[0]).toBe(0);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeCloseTo(50, 6);
    // Any 1-s window [t, t+1000) holds at most 20 starts.
    const maxInWindow = Math.max(...starts.map((t) => starts.filter((s) => s >= t && s < t + 1000).length));
    expect(maxInWindow).toBe(20);
  });

  it('concurrent callers start in call order, each 1000/N ms after the previous actual start', async () => {
    const { limiter } = fake();
    // All ask at the same instant: each one's wait is its start.
    expect(await Promise.all([0, 1, 2].map(() => limiter.take('wh_a', 4)))).toEqual([0, 250, 500]);
  });

  it('a late wake-up never lets the next sends bunch up behind it', async () => {
    let now = 0;
    // Every sleep overshoots by 300 ms (a blocked event loop).
    const limiter = new WebhookRateLimiter({ now: () => now, sleep: async (ms) => void (now += ms + 300) });
    const starts = await Promise.all([0, 1, 2, 3].map(() => limiter.take('wh_a', 10)));
    expect(starts[3]).toBeGreaterThanOrEqual(1200);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(100);
  });

  it('webhooks do not share a rate, and idle ones are forgotten past the bound', async () => {
    let now = 0;
    const limiter = new WebhookRateLimiter({ now: () => now, sleep: async (ms) => void (now += ms), maxTracked: 2 });
    expect(await limiter.take('wh_a', 1)).toBe(0);
    expect(await limiter.take('wh_b', 1)).toBe(0);
    expect(await limiter.take('wh_a', 1)).toBe(1000);
    now = 5000;
    await limiter.take('wh_c', 1);
    expect(limiter.size).toBe(1);
  });
});

describe('WebhookRateLimiter: when the next slot is, and parking a backlog (decision 0013)', () => {
  /** A limiter whose sleeps never end by themselves (the waiting room stays as filled). */
  function frozen(maxWaiting = 8) {
    let now = 10_000;
    const limiter = new WebhookRateLimiter({ now: () => now, sleep: () => new Promise<void>(() => undefined), maxWaiting: () => maxWaiting });
    return { limiter, advance: (ms: number) => (now += ms), clock: () => now };
  }

  it('nextSlotAt: now for an idle webhook, then one interval per send started or waiting', async () => {
    const { limiter, clock } = frozen();
    expect(limiter.nextSlotAt('wh_a', 2)).toBe(clock());
    await limiter.take('wh_a', 2); // starts at once
    expect(limiter.nextSlotAt('wh_a', 2)).toBe(clock() + 500);
    void limiter.take('wh_a', 2);
    void limiter.take('wh_a', 2);
    await Promise.resolve();
    expect(limiter.waitingFor('wh_a')).toBe(2);
    expect(limiter.nextSlotAt('wh_a', 2)).toBe(clock() + 1500);
    expect(limiter.nextSlotAt('wh_b', 2)).toBe(clock());
  });

  it('lets deliveries wait up to the waiting room, then parks the rest one slot apart, each to come back before its slot', async () => {
    const { limiter, clock } = frozen(4);
    const t0 = clock();
    expect(limiter.admit('wh_a', 2)).toEqual({ kind: 'take' });
    for (let i = 0; i < 5; i++) void limiter.take('wh_a', 2); // the first starts at t0, 4 wait: slots t0+500 … t0+2000
    await new Promise((r) => setImmediate(r));
    expect(limiter.waitingFor('wh_a')).toBe(4);
    const parked = [0, 1, 2].map(() => limiter.admit('wh_a', 2));
    // The queue ends at t0+2500; lead = min(1 s, half the room = 2 slots) = 1000 ms.
    expect(parked).toEqual([
      { kind: 'park', slotAt: t0 + 2500, returnAt: t0 + 1500 },
      { kind: 'park', slotAt: t0 + 3000, returnAt: t0 + 2000 },
      { kind: 'park', slotAt: t0 + 3500, returnAt: t0 + 2500 },
    ]);
  });

  it('a new delivery queues behind parked ones even once the room has space; a returning one is let in', async () => {
    let now = 0;
    const limiter = new WebhookRateLimiter({ now: () => now, sleep: async (ms) => void (now += ms), maxWaiting: () => 2 });
    const takes = [0, 1, 2].map(() => limiter.take('wh_a', 1)); // 0, 1000, 2000; two wait
    expect(limiter.admit('wh_a', 1)).toMatchObject({ kind: 'park', slotAt: 3000 });
    await Promise.all(takes); // now = 2000, nobody waits, but slot 3000 is promised
    expect(limiter.waitingFor('wh_a')).toBe(0);
    expect(limiter.admit('wh_a', 1)).toMatchObject({ kind: 'park', slotAt: 4000 });
    expect(limiter.admit('wh_a', 1, { returning: true })).toEqual({ kind: 'take' });
    // Once the promised slots have passed, new deliveries go straight in again.
    now = 5000;
    expect(limiter.admit('wh_a', 1)).toEqual({ kind: 'take' });
  });

  it('a returning delivery is parked again only past twice the room, without moving the line', async () => {
    const { limiter, clock } = frozen(2);
    for (let i = 0; i < 5; i++) void limiter.take('wh_a', 1);
    await new Promise((r) => setImmediate(r));
    expect(limiter.waitingFor('wh_a')).toBe(4);
    expect(limiter.admit('wh_a', 1, { returning: true })).toMatchObject({ kind: 'park', slotAt: clock() + 5000 });
    // The line was not moved: a new one is promised the same end-of-queue slot.
    expect(limiter.admit('wh_a', 1)).toMatchObject({ kind: 'park', slotAt: clock() + 5000 });
  });

  it('a slot further than the longest park is not promised: the delivery comes back at that bound', async () => {
    const { limiter, clock } = frozen(1);
    for (let i = 0; i < 3; i++) void limiter.take('wh_a', 1);
    await new Promise((r) => setImmediate(r));
    expect(limiter.admit('wh_a', 1, { maxParkMs: 1000 })).toEqual({ kind: 'park', slotAt: clock() + 3000, returnAt: clock() + 1000 });
    expect(limiter.admit('wh_a', 1, { maxParkMs: 10_000 })).toMatchObject({ kind: 'park', slotAt: clock() + 3000 });
  });

  it('a fast webhook whose slot is within the horizon (1 s) waits rather than parks, however many wait', async () => {
    const { limiter, clock } = frozen(16);
    for (let i = 0; i < 500; i++) void limiter.take('wh_fast', 1000);
    await new Promise((r) => setImmediate(r));
    expect(limiter.admit('wh_fast', 1000)).toEqual({ kind: 'take' }); // slot 500 ms away
    for (let i = 0; i < 600; i++) void limiter.take('wh_fast', 1000);
    await new Promise((r) => setImmediate(r));
    expect(limiter.admit('wh_fast', 1000)).toMatchObject({ kind: 'park', slotAt: clock() + 1100 });
  });

  it('the waiting room holds the slots of the next second, 8 to 16', () => {
    expect([1, 2, 8, 10, 16, 1000].map(defaultMaxWaiting)).toEqual([8, 8, 8, 10, 16, 16]);
  });
});
