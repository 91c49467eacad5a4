import { describe, expect, it } from '@jest/globals';
import { WebhookRateLimiter } from './webhook-rate-limiter.js';

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
