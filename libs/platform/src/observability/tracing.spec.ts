import { describe, expect, it } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import {
  currentLogIds,
  currentTraceIds,
  extractFromHttpHeaders,
  extractFromKafkaHeaders,
  injectIntoHttpHeaders,
  injectIntoKafkaHeaders,
  otlpTracesUrl,
  startTracing,
  withLogIds,
  withSpan,
  type KafkaHeadersCarrier,
} from './tracing.js';

startTracing({ serviceName: 'tracing-spec' });

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace context through the carriers', () => {
  it('round-trips through Kafka headers as kafkajs delivers them (Buffers): same trace, a new child span', () => {
    const produced: KafkaHeadersCarrier = { 'odis-event-id': 'evt_1' };
    const sent = withSpan('fan-out', () => {
      injectIntoKafkaHeaders(produced);
      return currentTraceIds()!;
    });
    expect(produced.traceparent).toBe(`00-${sent.traceId}-${sent.spanId}-01`);
    const consumed: KafkaHeadersCarrier = Object.fromEntries(Object.entries(produced).map(([k, v]) => [k, Buffer.from(String(v))]));
    const got = withSpan('deliver', () => ({ ids: currentTraceIds()!, logIds: currentLogIds() }), { parent: withLogIds(extractFromKafkaHeaders(consumed), { event_id: 'evt_1' }) });
    expect(got.ids.traceId).toBe(sent.traceId);
    expect(got.ids.spanId).not.toBe(sent.spanId);
    expect(got.logIds).toEqual({ event_id: 'evt_1' });
  });

  it('continues an HTTP caller trace and puts the attempt span on outgoing headers', () => {
    const parent = extractFromHttpHeaders({ traceparent: [`00-${TRACE}-00f067aa0ba902b7-01`] });
    const out: Record<string, string> = {};
    const attempt = withSpan('ingest', () => withSpan('attempt', () => (injectIntoHttpHeaders(out), currentTraceIds()!)), { parent });
    expect(attempt.traceId).toBe(TRACE);
    expect(out.traceparent).toBe(`00-${TRACE}-${attempt.spanId}-01`);
    expect(out.traceparent).not.toContain('00f067aa0ba902b7');
  });

  it('starts a new trace from an invalid or absent traceparent, and keeps an unsampled flag', () => {
    for (const bad of ['garbage', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, undefined]) {
      const ids = withSpan('ingest', () => currentTraceIds()!, { parent: extractFromKafkaHeaders(bad ? { traceparent: bad } : {}) });
      expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.traceId).not.toBe('0'.repeat(32));
    }
    const out: KafkaHeadersCarrier = {};
    withSpan('fan-out', () => injectIntoKafkaHeaders(out), { parent: extractFromKafkaHeaders({ traceparent: `00-${TRACE}-00f067aa0ba902b7-00` }) });
    expect(String(out.traceparent)).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
  });

  it('ends the span when an async function settles, and marks errors', async () => {
    let span: ReturnType<typeof trace.getActiveSpan>;
    await expect(
      withSpan('notify', async () => {
        span = trace.getActiveSpan();
        throw new Error('smtp away');
      }),
    ).rejects.toThrow('smtp away');
    expect((span as unknown as { ended: boolean }).ended).toBe(true);
    expect((span as unknown as { status: { code: number } }).status.code).toBe(2);
  });

  it('nothing is injected outside a span', () => {
    const out: KafkaHeadersCarrier = {};
    injectIntoKafkaHeaders(out);
    expect(out).toEqual({});
  });

  it('puts traces under <endpoint>/v1/traces', () => {
    expect(otlpTracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318/base/')).toBe('http://collector:4318/base/v1/traces');
  });
});
