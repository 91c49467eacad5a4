import { describe, expect, it } from '@jest/globals';
import { backoffDelay, sleep } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from initial and caps at max', () => {
    const o = { initial: 100, max: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(0, o)).toBe(100);
    expect(backoffDelay(10_000, o)).toBe(1_000);
  });

  it('applies jitter within ±fraction', () => {
    const o = { initial: 1_000, max: 1_000 };
    expect(backoffDelay(1, o, 0.2, () => 0)).toBe(800);
    expect(backoffDelay(1, o, 0.2, () => 1)).toBe(1_200);
    expect(backoffDelay(1, o, 0.2, () => 0.5)).toBe(1_000);
  });
});

describe('sleep', () => {
  it('resolves true after the delay, false when aborted', async () => {
    await expect(sleep(1)).resolves.toBe(true);
    const c = new AbortController();
    const p = sleep(60_000, c.signal);
    c.abort();
    await expect(p).resolves.toBe(false);
    await expect(sleep(10, c.signal)).resolves.toBe(false);
  });
});
