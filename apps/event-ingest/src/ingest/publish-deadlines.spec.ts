import { describe, expect, it, jest } from '@jest/globals';
import { PublishDeadlines } from './publish-deadlines.js';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};
const timeout = () => new Error('timed out');

describe('PublishDeadlines', () => {
  it('passes results and errors through and keeps no timer once nothing is pending', async () => {
    const deadlines = new PublishDeadlines(1_000);
    await expect(deadlines.race(Promise.resolve(7), timeout)).resolves.toBe(7);
    await expect(deadlines.race(Promise.reject(new Error('broker says no')), timeout)).rejects.toThrow('broker says no');
    expect(deadlines.pending).toBe(0);
    expect((deadlines as unknown as { timer: unknown }).timer).toBeNull();
  });

  it('rejects each wait that outlives the timeout, in order, with one timer, and ignores a late result', async () => {
    jest.useFakeTimers();
    try {
      let now = 0;
      const deadlines = new PublishDeadlines(100, () => now);
      const slow = [deferred<string>(), deferred<string>(), deferred<string>()];
      const outcomes: string[] = [];
      const track = (p: Promise<string>, name: string) => p.then((v) => outcomes.push(`${name}:${v}`), (e: Error) => outcomes.push(`${name}:${e.message}`));
      const a = track(deadlines.race(slow[0].promise, timeout), 'a');
      now = 50;
      const b = track(deadlines.race(slow[1].promise, timeout), 'b');
      const c = track(deadlines.race(slow[2].promise, timeout), 'c');
      slow[1].resolve('ok');
      await b;
      expect(jest.getTimerCount()).toBe(1);
      now = 100;
      jest.advanceTimersByTime(100);
      await a;
      expect(outcomes).toEqual(['b:ok', 'a:timed out']);
      expect(deadlines.pending).toBe(1);
      now = 150;
      jest.advanceTimersByTime(50);
      await c;
      expect(outcomes).toEqual(['b:ok', 'a:timed out', 'c:timed out']);
      slow[0].resolve('late');
      await Promise.resolve();
      expect(outcomes).toHaveLength(3);
      expect(deadlines.pending).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
