import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows the burst, then asks to wait, then refills over time', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    expect([limiter.take('k'), limiter.take('k'), limiter.take('k')]).toEqual([0, 0, 0]);
    expect(limiter.take('k')).toBe(1);
    now = 500;
    expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBeGreaterThan(0);
  });

  it('keeps keys apart', () => {
    const limiter = new RateLimiter(1, 1, () => 0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });
});

describe('RateLimiter bounds', () => {
  it('peek does not take a token', () => {
    const limiter = new RateLimiter(1, 1, () => 0);
    expect(limiter.peek('k')).toBe(0);
    expect(limiter.peek('k')).toBe(0);
    expect(limiter.take('k')).toBe(0);
    expect(limiter.peek('k')).toBe(1);
  });

  it('keeps at most maxBuckets, evicting the least recently used, never everyone at once', () => {
    const limiter = new RateLimiter(1, 1, () => 0, 3);
    limiter.take('valid');
    for (let i = 0; i < 2; i++) limiter.take(`unknown-${i}`);
    limiter.take('valid'); // touched: now the most recent
    limiter.take('unknown-2');
    expect(limiter.size).toBe(3);
    // 'valid' survived the eviction (its bucket is still empty), 'unknown-0' did not.
    expect(limiter.peek('valid')).toBe(1);
    expect(limiter.size).toBe(3);
  });
});
