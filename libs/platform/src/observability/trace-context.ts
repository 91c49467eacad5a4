import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) without a tracing SDK
 * (docs/decisions/0018-observability.md): parse and format `traceparent`, make span ids, and keep
 * the current span in an AsyncLocalStorage so logs, produced Kafka records and webhook POSTs carry
 * it. Spans are not exported (no OTLP exporter is built in).
 */
export interface TraceContext {
  /** 32 lowercase hex digits, never all zero. */
  traceId: string;
  /** 16 lowercase hex digits, never all zero: the current span. */
  spanId: string;
  /** The `sampled` flag of the incoming trace (kept as given). */
  sampled: boolean;
  /** What this span is (`ingest`, `consume webhooks.deliveries`, `attempt`, ...), for logs. */
  name?: string;
  /** The event / delivery / webhook this span works on (put on log lines; never account ids or secrets). */
  ids?: Partial<Record<'event_id' | 'delivery_id' | 'webhook_id' | 'subscription_id', string>>;
}

/** The W3C header name (HTTP header and Kafka record header alike). */
export const TRACEPARENT = 'traceparent';

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a `traceparent` value; null when absent or invalid (then a new trace starts). */
export function parseTraceparent(value: string | string[] | undefined | null): TraceContext | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string') return null;
  const match = TRACEPARENT_RE.exec(raw.trim().toLowerCase());
  if (!match) return null;
  const [, version, traceId, spanId, flags, rest] = match;
  // Version ff is invalid; version 00 has exactly four fields; later versions may append more.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

/** `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(ctx: Pick<TraceContext, 'traceId' | 'spanId' | 'sampled'>): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}

export const newTraceId = (): string => nonZeroHex(16);
export const newSpanId = (): string => nonZeroHex(8);

/** A child span of `parent` (same trace, new span id), or the root of a new sampled trace. */
export function childSpan(parent: TraceContext | null | undefined, name?: string): TraceContext {
  const ctx: TraceContext = parent ? { traceId: parent.traceId, spanId: newSpanId(), sampled: parent.sampled } : { traceId: newTraceId(), spanId: newSpanId(), sampled: true };
  if (name) ctx.name = name;
  return ctx;
}

const storage = new AsyncLocalStorage<TraceContext>();

/** The span the running code belongs to, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** The `traceparent` to send onward from the current span, if any. */
export function currentTraceparent(): string | undefined {
  const ctx = storage.getStore();
  return ctx ? formatTraceparent(ctx) : undefined;
}

/** Runs `fn` in the span `ctx` (everything it awaits, logs, produces or POSTs belongs to it). */
export function runInTrace<T>(ctx: TraceContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/**
 * Runs `fn` in a new span named `name`: a child of the given parent (e.g. a `traceparent` read from
 * a header), else of the current span, else the root of a new trace.
 */
export function withSpan<T>(name: string, fn: () => T, parent?: string | TraceContext | null): T {
  const from = typeof parent === 'string' ? parseTraceparent(parent) : (parent ?? storage.getStore() ?? null);
  return storage.run(childSpan(from, name), fn);
}
