import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { startTestReceiver, type TestReceiver, type TestReply } from '@odis/receiver-kit';
import { classifyError } from './attempt-outcome-classifier.js';
import { GotWebhookClient, type GotWebhookClientOptions } from './got-webhook-client.js';

const base: GotWebhookClientOptions = { timeoutMs: 2_000, allowPrivateTargets: true, maxResponseBytes: 64 * 1024, maxSocketsPerHost: 4 };

describe('GotWebhookClient (real HTTP on 127.0.0.1)', () => {
  let receiver: TestReceiver;
  const clients: GotWebhookClient[] = [];
  const make = (o: Partial<GotWebhookClientOptions> = {}) => {
    const c = new GotWebhookClient({ ...base, ...o });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    receiver = await startTestReceiver({
      respond: (req): TestReply => {
        if (req.path === '/slow') return { status: 200, delayMs: 5_000 };
        if (req.path === '/redirect') return { status: 302, headers: { location: '/elsewhere' } };
        if (req.path === '/big') return { status: 200, body: Buffer.alloc(200 * 1024, 'a') };
        if (req.path === '/big-error') return { status: 500, body: Buffer.alloc(200 * 1024, 'e') };
        if (req.path === '/503') return { status: 503, body: 'try later' };
        if (req.path === '/429') return { status: 429, headers: { 'retry-after': '7' }, body: 'slow down' };
        if (req.path === '/429-big') return { status: 429, headers: { 'retry-after': '9' }, body: Buffer.alloc(200 * 1024, 'r') };
        return { status: 200, body: 'ok' };
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await receiver.close();
  });

  it('POSTs the exact bytes and headers and reuses the keep-alive connection', async () => {
    const client = make();
    const body = '{\n  "event": "call.started"\n}';
    const first = await client.post(`${receiver.url}/hook`, body, { 'Content-Type': 'application/json', 'X-ODIS-Event': 'call.started' });
    const second = await client.post(`${receiver.url}/hook`, body, { 'Content-Type': 'application/json' });
    expect(first).toMatchObject({ kind: 'response', statusCode: 200, truncated: false });
    expect(first.kind === 'response' && first.body?.toString()).toBe('ok');
    expect(second).toMatchObject({ kind: 'response', statusCode: 200 });
    const [a, b] = receiver.requests.slice(-2);
    expect(a.method).toBe('POST');
    expect(a.body.toString()).toBe(body);
    expect(a.headers['x-odis-event']).toBe('call.started');
    expect(a.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(b.remotePort).toBe(a.remotePort);
  });

  it('does not follow redirects and does not throw on error statuses', async () => {
    const client = make();
    expect(await client.post(`${receiver.url}/redirect`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 302 });
    expect(await client.post(`${receiver.url}/503`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 503 });
    expect(receiver.requests.some((r) => r.path === '/elsewhere')).toBe(false);
  });

  it('reports the Retry-After header of the response, also when the body was too large to read', async () => {
    const client = make();
    expect(await client.post(`${receiver.url}/429`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 429, retryAfter: '7' });
    expect(await client.post(`${receiver.url}/429-big`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 429, truncated: true, retryAfter: '9' });
    const plain = await client.post(`${receiver.url}/503`, '{}', {});
    expect(plain.kind === 'response' && plain.retryAfter).toBeUndefined();
  });

  it('times out after the total timeout', async () => {
    const client = make({ timeoutMs: 200 });
    const outcome = await client.post(`${receiver.url}/slow`, '{}', {});
    expect(outcome.kind).toBe('error');
    if (outcome.kind === 'error') {
      expect(classifyError(outcome.error)).toBe('timeout');
      expect(outcome.durationMs).toBeGreaterThanOrEqual(190);
      expect(outcome.durationMs).toBeLessThan(2_000);
    }
  });

  it('stops reading a response beyond the cap: status kept, body dropped', async () => {
    const client = make();
    expect(await client.post(`${receiver.url}/big`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 200, truncated: true, body: null });
    expect(await client.post(`${receiver.url}/big-error`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 500, truncated: true });
    // The cut connection does not poison the pool.
    expect(await client.post(`${receiver.url}/hook`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 200 });
  });

  it('reports a refused connection', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const outcome = await make().post(`http://127.0.0.1:${port}/`, '{}', {});
    expect(outcome.kind === 'error' && classifyError(outcome.error)).toBe('connection_refused');
  });

  it('refuses private targets unless allowed: IP literals, localhost, http, and names resolving to private addresses at connect time', async () => {
    const strict = make({ allowPrivateTargets: false, resolve: (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]) });
    const before = receiver.count;
    for (const url of [
      `${receiver.url}/hook`,
      `https://127.0.0.1:${receiver.port}/`,
      'https://[::1]/',
      'https://169.254.169.254/latest/meta-data',
      'https://10.1.2.3/',
      'https://localhost/',
      'https://rebinding.example.com/',
    ]) {
      const outcome = await strict.post(url, '{}', {});
      expect(outcome.kind).toBe('error');
      expect(outcome.kind === 'error' && classifyError(outcome.error)).toBe('blocked_target');
    }
    expect(receiver.count).toBe(before);
  });

  it('binds the configured local address', async () => {
    const client = make({ localAddress: '127.0.0.1' });
    expect(await client.post(`${receiver.url}/hook`, '{}', {})).toMatchObject({ kind: 'response', statusCode: 200 });
  });
});
