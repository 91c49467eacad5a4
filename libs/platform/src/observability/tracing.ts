import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, type ReadableSpan, type Span as SdkSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * Traces on OpenTelemetry (docs/decisions/0018-observability.md): `@opentelemetry/api` for context
 * and spans everywhere; `startTracing` registers, once per process, a NodeTracerProvider with the
 * W3C trace-context propagator and the AsyncLocalStorage context manager. Spans are exported
 * (OTLP/HTTP, BatchSpanProcessor) only when an endpoint is set; otherwise no processor sees them.
 */

/** The W3C header name (HTTP header and Kafka record header alike). */
export const TRACEPARENT = 'traceparent';

export { SpanKind };

/** Kafka record headers (kafkajs: string, Buffer or arrays of them) as a propagation carrier. */
export type KafkaHeadersCarrier = Record<string, string | Buffer | Array<string | Buffer> | undefined>;

export const kafkaHeadersGetter: TextMapGetter<KafkaHeadersCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const raw = carrier[key];
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    return v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  },
};
export const kafkaHeadersSetter: TextMapSetter<KafkaHeadersCarrier> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** HTTP headers (Node's IncomingHttpHeaders, or the outgoing name → value map) as a propagation carrier. */
export type HttpHeadersCarrier = Record<string, string | string[] | number | undefined>;

export const httpHeadersGetter: TextMapGetter<HttpHeadersCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const raw = carrier[key.toLowerCase()] ?? carrier[key];
    return Array.isArray(raw) ? raw[0] : raw === undefined ? undefined : String(raw);
  },
};
export const httpHeadersSetter: TextMapSetter<HttpHeadersCarrier> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** The context a Kafka record's headers carry (the root context when they carry none). */
export const extractFromKafkaHeaders = (headers: KafkaHeadersCarrier | undefined, parent: Context = ROOT_CONTEXT): Context =>
  propagation.extract(parent, headers ?? {}, kafkaHeadersGetter);

/** Writes the current span's `traceparent` into Kafka headers (nothing when no span is current or tracing is off). */
export const injectIntoKafkaHeaders = (headers: KafkaHeadersCarrier, ctx: Context = context.active()): void => propagation.inject(ctx, headers, kafkaHeadersSetter);

export const extractFromHttpHeaders = (headers: HttpHeadersCarrier, parent: Context = ROOT_CONTEXT): Context => propagation.extract(parent, headers, httpHeadersGetter);
export const injectIntoHttpHeaders = (headers: HttpHeadersCarrier, ctx: Context = context.active()): void => propagation.inject(ctx, headers, httpHeadersSetter);

/** Event / delivery / webhook ids the current work is about: put on log lines (never account ids or secrets). */
export type LogIds = Partial<Record<'event_id' | 'delivery_id' | 'webhook_id', string>>;
const LOG_IDS = createContextKey('odis.log_ids');
export const withLogIds = (ctx: Context, ids: LogIds): Context => (Object.keys(ids).length ? ctx.setValue(LOG_IDS, ids) : ctx);
export const currentLogIds = (): LogIds | undefined => context.active().getValue(LOG_IDS) as LogIds | undefined;

/** Trace and span id of the current span, when it is a valid one. */
export function currentTraceIds(): { traceId: string; spanId: string } | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

export interface SpanOptions {
  /** The parent context (e.g. extracted from headers); default the active one. */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
  /** `manual`: the caller ends the span (e.g. when a response finishes); default: when `fn`'s result settles. */
  end?: 'auto' | 'manual';
}

const tracer = () => trace.getTracer('odis');

/** Runs `fn` in a new active span named `name`; errors mark the span and are rethrown. */
export function withSpan<T>(name: string, fn: (span: Span) => T, options: SpanOptions = {}): T {
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active(), (span) => {
    if (options.end === 'manual') return fn(span);
    const fail = (err: unknown) => {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    };
    try {
      const result = fn(span);
      if (result instanceof Promise) {
        return result.then(
          (v) => (span.end(), v),
          (err) => {
            fail(err);
            span.end();
            throw err;
          },
        ) as T;
      }
      span.end();
      return result;
    } catch (err) {
      fail(err);
      span.end();
      throw err;
    }
  });
}

/** Forwards ended spans to the exporting processors added so far (none: spans go nowhere). */
class ProcessorHub implements SpanProcessor {
  readonly byEndpoint = new Map<string, { processor: SpanProcessor; users: number }>();
  onStart(span: SdkSpan, parent: Context): void {
    for (const { processor } of this.byEndpoint.values()) processor.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    for (const { processor } of this.byEndpoint.values()) processor.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...this.byEndpoint.values()].map(({ processor }) => processor.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all([...this.byEndpoint.values()].map(({ processor }) => processor.shutdown()));
  }
}

let hub: ProcessorHub | undefined;

/** `<endpoint>/v1/traces`: the OTLP/HTTP traces path under the base endpoint (as the OTel SDKs do with OTEL_EXPORTER_OTLP_ENDPOINT). */
export const otlpTracesUrl = (endpoint: string): string => new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();

export interface TracingHandle {
  /** Exports what is buffered and stops this app's exporter (when it had one). */
  shutdown(): Promise<void>;
}

/**
 * Registers the process's tracer provider (the first call; later calls reuse it: apps started
 * in-process by tests share one) and, with `otlpEndpoint`, an OTLP/HTTP exporter behind a
 * BatchSpanProcessor. Sampling is parent-based (an incoming `sampled` flag is kept), otherwise on.
 */
export function startTracing(options: { serviceName: string; otlpEndpoint?: string }): TracingHandle {
  if (!hub) {
    hub = new ProcessorHub();
    const provider = new NodeTracerProvider({
      resource: defaultResource().merge(resourceFromAttributes({ 'service.name': options.serviceName })),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [hub],
    });
    // AsyncLocalStorageContextManager (sdk-trace-node's default) and W3C traceparent only.
    provider.register({ propagator: new W3CTraceContextPropagator() });
  }
  const endpoint = options.otlpEndpoint?.trim();
  if (!endpoint) return { shutdown: async () => undefined };
  const url = otlpTracesUrl(endpoint);
  const hubNow = hub;
  let entry = hubNow.byEndpoint.get(url);
  if (entry) entry.users++;
  else hubNow.byEndpoint.set(url, (entry = { processor: new BatchSpanProcessor(new OTLPTraceExporter({ url })), users: 1 }));
  let done = false;
  return {
    async shutdown() {
      if (done) return;
      done = true;
      const e = hubNow.byEndpoint.get(url);
      if (!e) return;
      if (--e.users > 0) return void (await e.processor.forceFlush());
      hubNow.byEndpoint.delete(url);
      await e.processor.shutdown();
    },
  };
}
