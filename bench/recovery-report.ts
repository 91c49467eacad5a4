import { int, ms, summarize } from './stats.js';

/** Live delivery latency of one phase of the recovery benchmark (send() → receiver, ms per event). */
export interface LivePhase {
  label: string;
  /** Live events sent in the phase. */
  sent: number;
  /** Latency of each live event received (ms). */
  latencies: number[];
}

/** What the five recoveries delivered, from the recovery receiver and the API. */
export interface RecoveredDeliveries {
  recoveries: number;
  eventsEach: number;
  /** Requests received per webhook (URL path), one entry per recovered webhook. */
  perWebhook: number[];
  /** Distinct delivery ids received, and requests beyond the first of a delivery id. */
  unique: number;
  duplicates: number;
  /** First recover request sent → last recovered delivery received (ms). */
  spanMs: number;
  /** `delivered` of each recovery as `GET /v1/webhooks/{id}/recoveries/{rec_id}` reports it at the end. */
  apiDelivered: number[];
}

/** p99 with recoveries ÷ p99 without (NaN when either phase has no sample). */
export function p99Ratio(without: number[], withRecoveries: number[]): number {
  const a = summarize(without).p99;
  const b = summarize(withRecoveries).p99;
  return Number.isFinite(a) && Number.isFinite(b) && a > 0 ? b / a : NaN;
}

/**
 * Every recovered delivery reached its receiver exactly once: each webhook got exactly `eventsEach`
 * requests, the delivery ids are all distinct (no duplicate), and the API counts them all delivered.
 */
export function exactlyOnce(r: RecoveredDeliveries): boolean {
  const total = r.recoveries * r.eventsEach;
  return (
    r.perWebhook.length === r.recoveries &&
    r.perWebhook.every((n) => n === r.eventsEach) &&
    r.unique === total &&
    r.duplicates === 0 &&
    r.apiDelivered.length === r.recoveries &&
    r.apiDelivered.every((n) => n === r.eventsEach)
  );
}

/** Recovered deliveries per second over the whole recovery (first request → last delivery). */
export function recoveryThroughput(r: Pick<RecoveredDeliveries, 'unique' | 'spanMs'>): number {
  return r.spanMs > 0 ? (r.unique / r.spanMs) * 1000 : NaN;
}

/** The benchmark's rows: one per phase, then the verdict row. */
export function recoveryRows(without: LivePhase, withRecoveries: LivePhase, recovered: RecoveredDeliveries, maxRatio: number): Record<string, string>[] {
  const row = (p: LivePhase) => {
    const s = summarize(p.latencies);
    return { phase: p.label, 'live received': `${int(s.n)}/${int(p.sent)}`, p50: ms(s.p50), p99: ms(s.p99), max: ms(s.max) };
  };
  const ratio = p99Ratio(without.latencies, withRecoveries.latencies);
  const total = recovered.recoveries * recovered.eventsEach;
  return [
    { ...row(without), 'p99 ratio': '', 'recovery deliveries/s': '', 'recovered exactly once': '' },
    {
      ...row(withRecoveries),
      'p99 ratio': Number.isFinite(ratio) ? `${ratio.toFixed(2)} (${ratio <= maxRatio ? 'ok' : 'NO'}, bar ≤ ${maxRatio})` : 'n/a',
      'recovery deliveries/s': int(recoveryThroughput(recovered)),
      'recovered exactly once': `${exactlyOnce(recovered) ? 'yes' : 'NO'}: ${int(recovered.unique)}/${int(total)} distinct, ${recovered.duplicates} duplicates, per webhook ${[...new Set(recovered.perWebhook)].map(int).join('/')}, API delivered ${recovered.apiDelivered.map(int).join('+')}`,
    },
  ];
}
