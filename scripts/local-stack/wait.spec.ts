import { describe, it, expect } from '@jest/globals';
import { backoffDelay } from '@odis/config';
import { retryUntil } from './wait.js';

describe('retryUntil', () => {
  it('backs off exponentially up to a cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n + 1, { initial: 100, max: 1_000 }))).toEqual([100, 200, 400, 800, 1_000, 1_000]); // retryUntil's pause after try n (0-based)
  });

  it('returns the first truthy result, treating throws and false as "not yet"', async () => {
    let n = 0;
    const value = await retryUntil(
      async () => {
        n++;
        if (n === 1) throw new Error('refused');
        return n >= 3 ? `ok after ${n}` : false;
      },
      { timeoutMs: 2_000, initialDelayMs: 5, what: 'thing' },
    );
    expect(value).toBe('ok after 3');
  });

  it('gives up at the deadline and names the thing and the last error', async () => {
    const t0 = Date.now();
    await expect(
      retryUntil(async () => {
        throw new Error('ECONNREFUSED');
      }, { timeoutMs: 200, initialDelayMs: 20, what: 'kafka at 127.0.0.1:1' }),
    ).rejects.toThrow(/kafka at 127\.0\.0\.1:1: not ready after 200 ms \(last error: ECONNREFUSED\)/);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('aborts at once when the abort check gives a reason', async () => {
    let calls = 0;
    await expect(
      retryUntil(async () => ++calls > 100, { timeoutMs: 10_000, initialDelayMs: 1, what: 'broker', abort: () => (calls >= 2 ? 'process exited with 1' : undefined) }),
    ).rejects.toThrow('broker: process exited with 1');
    expect(calls).toBe(2);
  });
});
