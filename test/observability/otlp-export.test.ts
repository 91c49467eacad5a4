/**
 * OTLP export (issue 14 item 2, decision 0018): a process started from the build with
 * OTEL_EXPORTER_OTLP_ENDPOINT exports its spans over OTLP/HTTP to that collector, with the trace id
 * of the `traceparent` it continued; without the endpoint nothing is sent. The process is a plain
 * `node` child (not jest's module system) running the platform's own `startTracing` and `withSpan`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const tracing = pathToFileURL(resolve('dist/libs/platform/src/observability/tracing.js')).href;

/** A child that continues `traceparent`, makes two nested spans, and shuts tracing down (flushing). */
async function runChild(endpoint: string | null): Promise<{ status: number | null; stderr: string }> {
  const script = `
    const t = await import(${JSON.stringify(tracing)});
    const handle = t.startTracing({ serviceName: 'otlp-export-test', otlpEndpoint: ${JSON.stringify(endpoint ?? '')} });
    const { context } = await import('@opentelemetry/api');
    const parent = t.extractFromHttpHeaders({ traceparent: '00-${TRACE_ID}-00f067aa0ba902b7-01' });
    await context.with(parent, () => t.withSpan('ingest', () => t.withSpan('attempt', async () => undefined)));
    await handle.shutdown();
  `;
  // Not spawnSync: the collector answers from this process's event loop.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: resolve('.'), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const status = await new Promise<number | null>((r) => child.on('close', r));
  return { status, stderr };
}

describe('OTLP/HTTP export of spans', () => {
  let server: Server;
  let url: string;
  const bodies: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('sends nothing without an endpoint', async () => {
    const run = await runChild(null);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(bodies).toEqual([]);
  });

  it('exports the spans, named, with the trace id of the traceparent they continued', async () => {
    const run = await runChild(url);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(bodies.length).toBeGreaterThanOrEqual(1);
    const spans = bodies.flatMap((b) =>
      (JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[] }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    expect(spans.map((s) => s.name).sort()).toEqual(['attempt', 'ingest']);
    for (const s of spans) expect(s.traceId).toBe(TRACE_ID);
    expect(bodies.join('')).toContain('otlp-export-test');
  });
});
