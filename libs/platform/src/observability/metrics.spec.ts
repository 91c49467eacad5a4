import { describe, expect, it } from '@jest/globals';
import { metricsRegistry, NO_TIMER_DEFAULT_METRICS, sourcedMetric } from './metrics.js';
import { attemptLabel, odisMetrics } from './odis-metrics.js';

const sample = (text: string, line: RegExp) => text.split('\n').find((l) => line.test(l));

describe('metrics (prom-client)', () => {
  it("exposes Node's process metrics but not the event-loop-lag collector (its timer would wake the idle process)", async () => {
    expect(NO_TIMER_DEFAULT_METRICS).toContain('processCpuTotal');
    expect(NO_TIMER_DEFAULT_METRICS).not.toContain('eventLoopLag');
    const text = await metricsRegistry.metrics();
    expect(sample(text, /^process_cpu_seconds_total \d/)).toBeDefined();
    expect(sample(text, /^process_resident_memory_bytes \d/)).toBeDefined();
    expect(text).not.toContain('nodejs_eventloop_lag');
  });

  it('counts and observes with the platform names and bounded labels', async () => {
    odisMetrics.deliveries.inc({ outcome: 'failed', attempt: attemptLabel(14) });
    odisMetrics.attemptDuration.observe({ outcome: 'failed' }, 0.2);
    const text = await metricsRegistry.metrics();
    expect(text).toContain('odis_deliveries_total{outcome="failed",attempt="10+"} 1');
    expect(text).toContain('odis_attempt_duration_seconds_bucket{le="0.25",outcome="failed"} 1');
    expect(attemptLabel(0)).toBe('1');
  });

  it('computes sourced gauges on scrape: sources add up, a failing source is left out, a removed one is gone', async () => {
    const lag = sourcedMetric('gauge', 'test_lag', 'test', ['topic']);
    const removeA = lag.addSource(() => [{ labels: { topic: 't' }, value: 2 }]);
    lag.addSource(async () => [{ labels: { topic: 't' }, value: 3 }]);
    lag.addSource(() => {
      throw new Error('database away');
    });
    expect(sample(await metricsRegistry.metrics(), /^test_lag\{/)).toBe('test_lag{topic="t"} 5');
    removeA();
    expect(sample(await metricsRegistry.metrics(), /^test_lag\{/)).toBe('test_lag{topic="t"} 3');
    expect(sourcedMetric('gauge', 'test_lag', 'test', ['topic'])).toBe(lag);
    expect(sample(await metricsRegistry.metrics(), /^odis_outbox_pending /)).toBe('odis_outbox_pending 0');
  });
});
