import { describe, expect, it } from '@jest/globals';
import { exactlyOnce, p99Ratio, recoveryRows, recoveryThroughput, type RecoveredDeliveries } from './recovery-report.js';

const ok: RecoveredDeliveries = { recoveries: 2, eventsEach: 3, perWebhook: [3, 3], unique: 6, duplicates: 0, spanMs: 2_000, apiDelivered: [3, 3] };
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('recovery benchmark report', () => {
  it('divides the p99 with recoveries by the p99 without', () => {
    // nearest-rank p99 of 1..100 is 99; of 2..200 step 2 it is 198
    expect(p99Ratio(range(100, (i) => i + 1), range(100, (i) => 2 * (i + 1)))).toBeCloseTo(2);
    expect(p99Ratio([], [1, 2])).toBeNaN();
    expect(p99Ratio([0], [1])).toBeNaN();
  });

  it('says exactly once only when every webhook got every event once and the API counts them delivered', () => {
    expect(exactlyOnce(ok)).toBe(true);
    expect(exactlyOnce({ ...ok, duplicates: 1, perWebhook: [4, 3] })).toBe(false);
    expect(exactlyOnce({ ...ok, unique: 5, perWebhook: [2, 3] })).toBe(false);
    expect(exactlyOnce({ ...ok, perWebhook: [3] })).toBe(false);
    expect(exactlyOnce({ ...ok, apiDelivered: [3, 2] })).toBe(false);
  });

  it('gives the recovery throughput over first request → last delivery', () => {
    expect(recoveryThroughput(ok)).toBe(3);
    expect(recoveryThroughput({ unique: 5, spanMs: 0 })).toBeNaN();
  });

  it('prints both phases, the ratio against the bar and the verdict', () => {
    const rows = recoveryRows({ label: 'without', sent: 100, latencies: range(100, (i) => i + 1) }, { label: 'with', sent: 101, latencies: range(100, (i) => 2 * (i + 1)) }, ok, 1.5);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ phase: 'without', 'live received': '100/100', p50: '50.0 ms', p99: '99.0 ms', max: '100.0 ms' });
    expect(rows[1]).toMatchObject({ phase: 'with', 'live received': '100/101', p99: '198.0 ms', 'recovery deliveries/s': '3' });
    expect(rows[1]['p99 ratio']).toBe('2.00 (NO, bar ≤ 1.5)');
    expect(rows[1]['recovered exactly once']).toMatch(/^yes: 6\/6 distinct, 0 duplicates/);
  });
});
