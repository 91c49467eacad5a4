import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The app's Prometheus registry (prom-client; docs/decisions/0018-observability.md). One per process,
 * and so one per app in production (apps started in-process by tests share it). Not prom-client's
 * global `register`, so a library's own metrics never land here unasked.
 */
export const metricsRegistry = new Registry();

/**
 * prom-client's default Node metrics, all computed on scrape, except the event-loop-lag collector:
 * it enables `monitorEventLoopDelay`, a libuv timer that wakes the idle process every
 * `eventLoopMonitoringPrecision` ms (decision 0007: no timer at rest). The list is prom-client's own
 * (`collectDefaultMetrics.metricsList`) minus that one; each collector is the module
 * `collectDefaultMetrics` itself calls.
 */
const require = createRequire(import.meta.url);
const defaultMetrics = require('prom-client/lib/defaultMetrics') as { metricsList: string[] };
export const NO_TIMER_DEFAULT_METRICS = defaultMetrics.metricsList.filter((name) => name !== 'eventLoopLag');
for (const name of NO_TIMER_DEFAULT_METRICS) {
  const collector = require(`prom-client/lib/metrics/${name}`) as (registry: Registry, config: object) => void;
  collector(metricsRegistry, {});
}

export type LabelValues = Record<string, string | number>;
export type MetricSample = { labels?: LabelValues; value: number };
/** Values computed on scrape (a source that throws is left out of that scrape). */
export type MetricSource = () => MetricSample[] | Promise<MetricSample[]>;

/** A prom-client metric whose values are computed on scrape from the sources added to it. */
export type SourcedMetric<M> = M & {
  /** Adds a source; returns its removal. Sources' values with the same labels add up. */
  addSource(source: MetricSource): () => void;
};

/**
 * A gauge (or a counter kept elsewhere) computed on scrape by `collect()`: no timer, no state
 * between scrapes (decision 0007).
 */
export function sourcedMetric(kind: 'gauge', name: string, help: string, labelNames?: string[]): SourcedMetric<Gauge>;
export function sourcedMetric(kind: 'counter', name: string, help: string, labelNames?: string[]): SourcedMetric<Counter>;
export function sourcedMetric(kind: 'gauge' | 'counter', name: string, help: string, labelNames: string[] = []): SourcedMetric<Gauge | Counter> {
  const existing = metricsRegistry.getSingleMetric(name) as SourcedMetric<Gauge | Counter> | undefined;
  if (existing) return existing;
  const sources = new Set<MetricSource>();
  const config = {
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    async collect(this: Gauge | Counter) {
      this.reset();
      for (const source of sources) {
        let samples: MetricSample[];
        try {
          samples = await source();
        } catch {
          continue; // a source that cannot answer now (database away) leaves its values out
        }
        for (const { labels, value } of samples) {
          if (!(value >= 0) && kind === 'counter') continue;
          if (labels) this.inc(labels, value);
          else this.inc(value);
        }
      }
    },
  };
  const metric = (kind === 'gauge' ? new Gauge(config) : new Counter(config)) as SourcedMetric<Gauge | Counter>;
  metric.addSource = (source) => {
    sources.add(source);
    return () => void sources.delete(source);
  };
  return metric;
}

/** A counter of the registry (the existing one when the name is taken: apps in one process share it). */
export function counter(name: string, help: string, labelNames: string[] = []): Counter {
  return (metricsRegistry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}
