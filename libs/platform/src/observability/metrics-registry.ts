/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels, gauges computed when scraped, and Node's process metrics. No timer runs: every value is
 * either counted where it happens or computed on scrape (decision 0007, idle cost). prom-client is
 * not a dependency of the project (docs/decisions/0018-observability.md).
 */
export type Labels = Readonly<Record<string, string | number>>;

/** Most label combinations one metric keeps; later combinations are counted under `_overflow="true"`. */
const MAX_SERIES = 500;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface MetricBase {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  render(): Promise<string[]> | string[];
}

abstract class LabelledMetric<S> implements MetricBase {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected readonly series = new Map<string, { values: string[]; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  protected abstract initial(): S;

  protected entry(labels: Labels | undefined): S {
    const values = this.labelNames.map((n) => String(labels?.[n] ?? ''));
    const key = values.join('\u0000');
    let found = this.series.get(key);
    if (!found) {
      if (this.series.size >= MAX_SERIES) {
        const overflow = this.labelNames.map(() => '_overflow');
        const okey = overflow.join('\u0000');
        found = this.series.get(okey);
        if (!found) this.series.set(okey, (found = { values: overflow, state: this.initial() }));
        return found.state;
      }
      this.series.set(key, (found = { values, state: this.initial() }));
    }
    return found.state;
  }

  abstract render(): string[] | Promise<string[]>;

  /** Forgets every series (tests). */
  reset(): void {
    this.series.clear();
  }
}

export class Counter extends LabelledMetric<{ v: number }> {
  readonly type = 'counter' as const;
  protected initial() {
    return { v: 0 };
  }
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) return;
    this.entry(labels).v += by;
  }
  get(labels?: Labels): number {
    return this.entry(labels).v;
  }
  render(): string[] {
    if (this.series.size === 0 && this.labelNames.length === 0) return [`${this.name} 0`];
    return [...this.series.values()].map(({ values, state }) => `${this.name}${labelText(this.labelNames, values)} ${formatValue(state.v)}`);
  }
}

export type GaugeCollector = () => Array<{ labels?: Labels; value: number }> | Promise<Array<{ labels?: Labels; value: number }>>;

export class Gauge extends LabelledMetric<{ v: number }> {
  readonly type = 'gauge' as const;
  private readonly collectors = new Set<GaugeCollector>();
  protected initial() {
    return { v: 0 };
  }
  set(value: number, labels?: Labels): void {
    this.entry(labels).v = value;
  }
  inc(labels?: Labels, by = 1): void {
    this.entry(labels).v += by;
  }
  /** Adds a source of values computed on scrape; returns its removal. Values of several sources with the same labels add up. */
  collect(collector: GaugeCollector): () => void {
    this.collectors.add(collector);
    return () => this.collectors.delete(collector);
  }
  async render(): Promise<string[]> {
    const sums = new Map<string, { values: string[]; v: number }>();
    for (const { values, state } of this.series.values()) sums.set(values.join('\u0000'), { values, v: state.v });
    for (const collector of this.collectors) {
      let samples: Array<{ labels?: Labels; value: number }>;
      try {
        samples = await collector();
      } catch {
        continue; // a source that cannot answer now (database away) leaves its series out
      }
      for (const { labels, value } of samples) {
        const values = this.labelNames.map((n) => String(labels?.[n] ?? ''));
        const key = values.join('\u0000');
        const prior = sums.get(key);
        if (prior) prior.v += value;
        else sums.set(key, { values, v: value });
      }
    }
    if (sums.size === 0 && this.labelNames.length === 0 && this.collectors.size === 0) return [`${this.name} 0`];
    return [...sums.values()].map(({ values, v }) => `${this.name}${labelText(this.labelNames, values)} ${formatValue(v)}`);
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends LabelledMetric<HistogramState> {
  readonly type = 'histogram' as const;
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    super(name, help, labelNames);
  }
  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(value: number, labels?: Labels): void {
    if (!Number.isFinite(value)) return;
    const s = this.entry(labels);
    s.sum += value;
    s.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
  }
  render(): string[] {
    const lines: string[] = [];
    for (const { values, state } of this.series.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${le}"`)} ${state.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${state.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${state.sum}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${state.count}`);
    }
    return lines;
  }
}

/** Extra exposition text computed on scrape (an app's own older metrics, e.g. event-ingest's). */
export type TextCollector = () => string | Promise<string>;

export class MetricsRegistry {
  private readonly metrics = new Map<string, MetricBase>();
  private readonly texts = new Set<TextCollector>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.getOrAdd(name, () => new Counter(name, help, labelNames), 'counter') as Counter;
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.getOrAdd(name, () => new Gauge(name, help, labelNames), 'gauge') as Gauge;
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.getOrAdd(name, () => new Histogram(name, help, labelNames, buckets), 'histogram') as Histogram;
  }
  /** Adds exposition text computed on scrape; returns its removal. */
  addText(collector: TextCollector): () => void {
    this.texts.add(collector);
    return () => this.texts.delete(collector);
  }

  private getOrAdd(name: string, make: () => MetricBase, type: MetricBase['type']): MetricBase {
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.type !== type) throw new Error(`metric ${name} is already a ${existing.type}`);
      return existing;
    }
    const metric = make();
    this.metrics.set(name, metric);
    return metric;
  }

  /** The whole exposition: every metric, the text collectors, and the process metrics. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...(await m.render()));
    }
    for (const text of this.texts) {
      try {
        const t = (await text()).trimEnd();
        if (t) out.push(t);
      } catch {
        // left out of this scrape
      }
    }
    out.push(...processMetrics());
    return `${out.join('\n')}\n`;
  }
}

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

/** Node's process metrics, under prom-client's names (so the usual dashboards fit). */
export function processMetrics(): string[] {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const gauge = (name: string, help: string, value: number, type = 'gauge') => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
  return [
    ...gauge('process_cpu_user_seconds_total', 'User CPU time spent, seconds.', cpu.user / 1e6, 'counter'),
    ...gauge('process_cpu_system_seconds_total', 'System CPU time spent, seconds.', cpu.system / 1e6, 'counter'),
    ...gauge('process_cpu_seconds_total', 'User and system CPU time spent, seconds.', (cpu.user + cpu.system) / 1e6, 'counter'),
    ...gauge('process_resident_memory_bytes', 'Resident memory size, bytes.', mem.rss),
    ...gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, seconds.', startTimeSeconds),
    ...gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js, bytes.', mem.heapTotal),
    ...gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js, bytes.', mem.heapUsed),
    ...gauge('nodejs_external_memory_bytes', 'Node.js external memory size, bytes.', mem.external),
    ...gauge('nodejs_active_handles_total', 'Active libuv handles.', (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.().length ?? 0),
  ];
}

/**
 * The process-wide registry (one app per process in production; apps started in-process by tests
 * share it, as they share prom-client's default registry).
 */
export const metricsRegistry = new MetricsRegistry();
