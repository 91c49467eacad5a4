import { describe, expect, it } from '@jest/globals';
import { MetricsRegistry } from './metrics-registry.js';
import { attemptLabel } from './odis-metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges (set and computed on scrape) and histograms as Prometheus text', async () => {
    const r = new MetricsRegistry();
    const c = r.counter('t_total', 'A counter.', ['outcome']);
    c.inc({ outcome: 'ok' });
    c.inc({ outcome: 'ok' }, 2);
    c.inc({ outcome: 'bad"\n' });
    c.inc({ outcome: 'ok' }, -1); // counters never go down
    const g = r.gauge('t_gauge', 'A gauge.', ['group']);
    g.set(4, { group: 'a' });
    const remove = g.collect(() => [{ labels: { group: 'a' }, value: 1 }, { labels: { group: 'b' }, value: 7 }]);
    g.collect(() => {
      throw new Error('database away');
    });
    const h = r.histogram('t_seconds', 'A histogram.', [], [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    r.addText(() => '# TYPE legacy_total counter\nlegacy_total 3\n');
    const text = await r.render();
    expect(text).toContain('# HELP t_total A counter.\n# TYPE t_total counter\nt_total{outcome="ok"} 3\nt_total{outcome="bad\\"\\n"} 1');
    expect(text).toContain('t_gauge{group="a"} 5\nt_gauge{group="b"} 7');
    expect(text).toContain('t_seconds_bucket{le="0.1"} 1\nt_seconds_bucket{le="1"} 2\nt_seconds_bucket{le="+Inf"} 3\nt_seconds_sum 5.55\nt_seconds_count 3');
    expect(text).toContain('legacy_total 3');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/process_cpu_seconds_total [\d.]+/);
    remove();
    expect(await r.render()).toContain('t_gauge{group="a"} 4\n');
  });

  it('returns the same metric for the same name and refuses a type change', () => {
    const r = new MetricsRegistry();
    expect(r.counter('x', 'h')).toBe(r.counter('x', 'h'));
    expect(() => r.gauge('x', 'h')).toThrow('already a counter');
  });

  it('bounds the series of one metric', async () => {
    const r = new MetricsRegistry();
    const c = r.counter('many_total', 'h', ['k']);
    for (let i = 0; i < 600; i++) c.inc({ k: String(i) });
    const lines = (await r.render()).split('\n').filter((l) => l.startsWith('many_total{'));
    expect(lines).toHaveLength(501);
    expect(lines).toContain('many_total{k="_overflow"} 100');
  });

  it('caps the attempt label', () => {
    expect(attemptLabel(1)).toBe('1');
    expect(attemptLabel(9)).toBe('9');
    expect(attemptLabel(14)).toBe('10+');
  });
});
