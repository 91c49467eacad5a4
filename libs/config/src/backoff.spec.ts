import { describe, expect, it } from '@jest/globals';
import { backoffDelay, retryWithBackoff, sleep } from './backoff.js';

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

describe('retryWithBackoff', () => {
  it('retries with growing waits until fn succeeds', async () => {
    let calls = 0;
    const waits: number[] = [];
    const result = await retryWithBackoff(
      async () => {
        if (++calls < 3) throw new Error(`fail ${calls}`);
        return 'ok';
      },
      { initialMs: 1, maxMs: 4, onError: (_e, attempt, wait) => waits.push(attempt, wait) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(waits[0]).toBe(1);
    expect(waits[2]).toBe(2);
    expect(waits[1]).toBeGreaterThanOrEqual(1);
    expect(waits[3]).toBeGreaterThanOrEqual(2);
    expect(waits[3]).toBeLessThanOrEqual(3);
  });

  it('throws at once an error retryIf rejects, and the last error once aborted', async () => {
    await expect(retryWithBackoff(async () => Promise.reject(new Error('fatal')), { retryIf: () => false })).rejects.toThrow('fatal');
    const c = new AbortController();
    const p = retryWithBackoff(async () => Promise.reject(new Error('down')), { initialMs: 60_000, signal: c.signal, onError: () => c.abort() });
    await expect(p).rejects.toThrow('down');
  });
});
