/**
 * Hostile input and a frozen database against the real subscription-api (in-process, real Postgres
 * and Kafka of global-setup): nothing a client sends is a 500, unknown keys cost no database round
 * trip each, the per-account cap holds under concurrency, the deliveries cursor skips no row, and
 * while Postgres is SIGSTOPped every request is answered (503 + Retry-After) within the bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { AccountDirectory } from '@odis/subscriptions';
import { createAccount, startSubscriptionApi, withDataSource } from '../api/subscription-api.harness.js';
import { waitFor } from '../support/infra.js';
import { withPostgresPaused } from '../support/process-pause.js';

const LOCAL_URL = 'http://127.0.0.1:9/hook';
const WEBHOOK_CAP = 4;

let app: INestApplication;
let port: number;
let a: { accountId: string; apiKey: string };

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: { code: string; message: string; field?: string }; [k: string]: unknown };
  ms: number;
}

/** One HTTP request with node:http (so the source address and raw bodies are ours to choose). */
function call(
  method: string,
  path: string,
  options: { key?: string; body?: string | Buffer; headers?: Record<string, string>; localAddress?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        localAddress: options.localAddress,
        agent: false,
        headers: {
          ...(options.key ? { Authorization: `Bearer ${options.key}` } : {}),
          ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Reply['body'] = {};
          try {
            body = text ? JSON.parse(text) : {};
          } catch {
            body = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: Date.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** A request with bytes Node's client would refuse to send (a NUL in a header): the raw status line. */
function rawRequest(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(`${lines.join('\r\n')}\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(text.split('\r\n')[0]));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
  });
}

const json = (value: unknown) => JSON.stringify(value);

async function createHook(key = a.apiKey, localAddress?: string): Promise<string> {
  const res = await call('POST', '/v1/webhooks', { key, body: json({ url: LOCAL_URL, events: ['call.started'] }), localAddress });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  app = await startSubscriptionApi({
    WEBHOOK_MAX_PER_ACCOUNT: String(WEBHOOK_CAP),
    // The production defaults of the lookup throttle and the database bounds (the harness raises the rate limit).
    API_AUTH_LOOKUPS_PER_SECOND: '2',
    API_AUTH_LOOKUPS_BURST: '20',
    DATABASE_CONNECT_TIMEOUT_MS: '3000',
    DATABASE_STATEMENT_TIMEOUT_MS: '5000',
  });
  port = (app.getHttpServer().address() as AddressInfo).port;
  a = await createAccount('Hostile Input Clinic');
});

afterAll(async () => {
  await app?.close();
});

describe('NUL bytes in any field are a 4xx naming the field', () => {
  let hookId: string;
  beforeAll(async () => {
    hookId = await createHook();
  });

  it.each([
    ['body: url', { url: `${LOCAL_URL}\u0000`, events: ['call.started'] }, 'url'],
    ['body: description', { url: LOCAL_URL, events: ['call.started'], description: 'a\u0000b' }, 'description'],
    ['body: secret', { url: LOCAL_URL, events: ['call.started'], secret: 'sixteen-chars-and\u0000' }, 'secret'],
    ['body: an event type', { url: LOCAL_URL, events: ['call.started\u0000'] }, 'events.0'],
  ])('%s', async (_name, body, field) => {
    const res = await call('POST', '/v1/webhooks', { key: a.apiKey, body: json(body) });
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe(field);
    expect(res.body.error?.message).toContain('NUL');
  });

  it('body: a key with a NUL', async () => {
    const res = await call('PATCH', `/v1/webhooks/${hookId}`, { key: a.apiKey, body: '{"descr\\u0000iption":"x"}' });
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe('descr\\u0000iption');
  });

  it.each([
    ['query of the list', '/v1/webhooks?starting_after=wh_%00', 'starting_after'],
    ['query of the deliveries', () => `/v1/webhooks/${hookId}/deliveries?before=2026-01-01T00:00:00Z%00`, 'before'],
    ['path id (GET)', '/v1/webhooks/wh_%00x', 'id'],
    ['path id (history)', '/v1/webhooks/%00/events', 'id'],
    ['path id (deliveries)', '/v1/webhooks/wh_%00/deliveries', 'id'],
  ])('%s', async (_name, path, field) => {
    const res = await call('GET', typeof path === 'function' ? path() : path, { key: a.apiKey });
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe(field);
  });

  it.each([
    ['PATCH', json({ description: 'x' })],
    ['DELETE', undefined],
  ])('path id (%s)', async (method, body) => {
    const res = await call(method, '/v1/webhooks/wh_%00', { key: a.apiKey, body });
    expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { error: expect.objectContaining({ field: 'id' }) } });
  });

  it('header: If-Match with a NUL is refused (by Node before the app) and garbage If-Match names the header', async () => {
    const status = await rawRequest([`DELETE /v1/webhooks/${hookId} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Bearer ${a.apiKey}`, 'If-Match: "1\u0000"', 'Connection: close']);
    expect(status).toMatch(/^HTTP\/1\.1 4\d\d/);
    const res = await call('DELETE', `/v1/webhooks/${hookId}`, { key: a.apiKey, headers: { 'If-Match': '"1\\u0000"' } });
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe('If-Match');
    expect((await call('GET', `/v1/webhooks/${hookId}`, { key: a.apiKey })).status).toBe(200);
  });

  it('header: Authorization with a NUL is a 4xx', async () => {
    const status = await rawRequest(['GET /v1/webhooks HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${a.apiKey}\u0000`, 'Connection: close']);
    expect(status).toMatch(/^HTTP\/1\.1 4\d\d/);
  });
});

describe('hostile bodies are a 4xx, never a 500', () => {
  it('a 50,000-deep JSON body is a 4xx (413: over the 64 KiB limit)', async () => {
    const body = `{"url":${'['.repeat(50_000)}${']'.repeat(50_000)},"events":["call.started"]}`;
    const res = await call('POST', '/v1/webhooks', { key: a.apiKey, body });
    expect(res.status).toBe(413);
  });

  it('a 10,000-deep body within the size limit is a 400 naming the field', async () => {
    const body = `{"url":${'['.repeat(10_000)}${']'.repeat(10_000)},"events":["call.started"]}`;
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
    const res = await call('POST', '/v1/webhooks', { key: a.apiKey, body });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('too_deep');
    expect(res.body.error?.field).toMatch(/^url/);
  });

  it('invalid UTF-8 in the body is a 400', async () => {
    const body = Buffer.concat([Buffer.from('{"url":"http://127.0.0.1:9/'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('","events":["call.started"]}')]);
    const res = await call('POST', '/v1/webhooks', { key: a.apiKey, body });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('invalid_utf8');
  });

  it('an escaped lone surrogate is stored or refused, never a 500', async () => {
    const res = await call('POST', '/v1/webhooks', { key: a.apiKey, body: '{"url":"http://127.0.0.1:9/x","events":["call.started"],"description":"\\ud800"}' });
    expect([201, 400]).toContain(res.status);
    if (res.status === 201) await call('DELETE', `/v1/webhooks/${res.body.id as string}`, { key: a.apiKey });
  });
});

describe('hostile custom webhook headers (decision 0013) are a 400 naming the header, never stored', () => {
  const create = (headers: unknown) => call('POST', '/v1/webhooks', { key: a.apiKey, body: json({ url: LOCAL_URL, events: ['call.started'], headers }) });

  it.each([
    ['header injection in a value (CR/LF)', { 'X-Foo': 'ok\r\nX-Injected: 1' }, 'headers.X-Foo'],
    ['a bare LF in a value', { 'X-Foo': 'a\nb' }, 'headers.X-Foo'],
    ['CR/LF in a name', { 'X-Foo\r\nX-Injected': '1' }, 'headers.X-Foo\r\nX-Injected'],
    ['a NUL in a value', { 'X-Foo': 'a\u0000b' }, 'headers.X-Foo'],
    ['our signature header', { 'X-ODIS-Signature': 'sha256=forged' }, 'headers.X-ODIS-Signature'],
    ['any X-ODIS-* (case-insensitive)', { 'x-odis-delivery-id': 'dlv_forged' }, 'headers.x-odis-delivery-id'],
    ['a Standard Webhooks header', { 'Webhook-Signature': 'v1,forged' }, 'headers.Webhook-Signature'],
    ['Host', { Host: 'internal.example' }, 'headers.Host'],
    ['Content-Length (request smuggling)', { 'Content-Length': '0' }, 'headers.Content-Length'],
    ['Transfer-Encoding (request smuggling)', { 'Transfer-Encoding': 'chunked' }, 'headers.Transfer-Encoding'],
    ['Content-Type', { 'Content-Type': 'text/plain' }, 'headers.Content-Type'],
    ['a hop-by-hop header', { Connection: 'close' }, 'headers.Connection'],
    ['a Proxy-* header', { 'Proxy-Authorization': 'Basic x' }, 'headers.Proxy-Authorization'],
    ['a value over 1,000 characters', { 'X-Big': 'v'.repeat(1001) }, 'headers.X-Big'],
    ['a non-string value', { 'X-Num': 5 }, 'headers.X-Num'],
    ['eleven headers', Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, 'v'])), 'headers'],
    ['an array', ['X-Foo: 1'], 'headers'],
  ])('%s', async (_name, headers, field) => {
    const res = await create(headers);
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe(field);
  });

  it('10 ordinary headers, Authorization among them, are stored and returned', async () => {
    const headers = { Authorization: 'Bearer x', ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`X-H${i}`, `v${i}`])) };
    const res = await create(headers);
    expect(res.status).toBe(201);
    expect(res.body.headers).toEqual(headers);
    await call('DELETE', `/v1/webhooks/${res.body.id as string}`, { key: a.apiKey });
  });
});

describe('unknown API keys', () => {
  it('300 requests with unknown keys get 401/429 without a database round trip each; a valid key gets 200 right after', async () => {
    const directory = app.get(AccountDirectory);
    // A key used once is "known good" to this instance; a second account's key has never been seen.
    expect((await call('GET', '/v1/webhooks', { key: a.apiKey })).status).toBe(200);
    const fresh = await createAccount('Fresh Key Clinic');
    const before = directory.databaseLookups;
    const statuses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call('GET', '/v1/webhooks', { key: i % 3 === 0 ? `odis_sk_garbage${i}` : `odis_sk_${randomBytes(32).toString('base64url')}` }).then((r) => r.status),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    const lookups = directory.databaseLookups - before;
    expect(lookups).toBeLessThanOrEqual(25); // the lookup burst of one address (20), plus refill
    const valid = await call('GET', '/v1/webhooks', { key: a.apiKey });
    expect(valid.status).toBe(200);
    expect(valid.ms).toBeLessThan(1_000);
    // A never-seen valid key from another address is not throttled by the flood either.
    const other = await call('GET', '/v1/webhooks', { key: fresh.apiKey, localAddress: '127.0.0.2' });
    expect(other.status).toBe(200);
    // From the flooding address, it waits for the lookup bucket: a 429 with Retry-After, never a 5xx.
    const sameAddress = await call('GET', '/v1/webhooks', { key: (await createAccount('Third Clinic')).apiKey });
    expect([200, 429]).toContain(sameAddress.status);
    if (sameAddress.status === 429) expect(sameAddress.headers['retry-after']).toMatch(/^\d+$/);
  });
});

describe('per-account webhook cap', () => {
  it('concurrent creates never pass the cap; the refusal is a 409 naming the limit', async () => {
    const capped = await createAccount('Capped Clinic');
    const results = await Promise.all(
      Array.from({ length: WEBHOOK_CAP + 4 }, (_, i) =>
        // From an address of its own: the flood above may still be draining 127.0.0.1's lookup bucket.
        call('POST', '/v1/webhooks', { key: capped.apiKey, body: json({ url: `${LOCAL_URL}/${i}`, events: ['call.started'] }), localAddress: '127.0.0.3' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(WEBHOOK_CAP);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    const refused = results.find((r) => r.status === 409)!;
    expect(refused.body.error?.code).toBe('webhook_limit_reached');
    expect(refused.body.error?.message).toContain(String(WEBHOOK_CAP));
    const [{ n }] = await withDataSource((ds) => ds.query('SELECT count(*)::int AS n FROM subscriptions WHERE account_id = $1 AND deleted_at IS NULL', [capped.accountId]));
    expect(n).toBe(WEBHOOK_CAP);
    // Deleting one frees a place.
    const id = results.find((r) => r.status === 201)!.body.id as string;
    expect((await call('DELETE', `/v1/webhooks/${id}`, { key: capped.apiKey })).status).toBe(204);
    expect((await call('POST', '/v1/webhooks', { key: capped.apiKey, body: json({ url: LOCAL_URL, events: ['call.started'] }) })).status).toBe(201);
  });
});

describe('deliveries cursor', () => {
  it('pages through many attempts of the same attempted_at (and microsecond times) without skipping or repeating one', async () => {
    const account = await createAccount('Cursor Clinic');
    const hookId = await createHook(account.apiKey, '127.0.0.4');
    const same = '2026-03-01T10:00:00.000Z';
    const rows = [
      ...Array.from({ length: 45 }, (_, i) => ({ id: `att_same_${String(i).padStart(3, '0')}_${randomBytes(3).toString('hex')}`, at: same })),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `att_us_${i}`, at: `2026-03-01T10:00:00.000${i % 3}${i}Z` })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `att_old_${i}`, at: `2026-02-0${i + 1}T00:00:00Z` })),
    ];
    await withDataSource(async (ds) => {
      for (const r of rows) {
        await ds.query(
          `INSERT INTO delivery_attempts (attempt_id, delivery_id, event_id, event_type, account_id, subscription_id, url, attempt, outcome,
             status_code, error_class, error_message, duration_ms, response_excerpt, attempted_at, next_attempt_at)
           VALUES ($1, $2, 'evt_1', 'call.started', $3, $4, $5, 1, 'failed', 500, 'http_status', NULL, 12.5, NULL, $6, NULL)`,
          [r.id, `dlv_${r.id}`, account.accountId, hookId, LOCAL_URL, r.at],
        );
      }
    });
    const seen: string[] = [];
    let before: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res: Reply = await call('GET', `/v1/webhooks/${hookId}/deliveries?limit=7${before ? `&before=${encodeURIComponent(before)}` : ''}`, {
        key: account.apiKey,
        localAddress: '127.0.0.4',
      });
      expect(res.status).toBe(200);
      const data = res.body.data as { id: string; attempted_at: string }[];
      expect(data.length).toBeLessThanOrEqual(7);
      seen.push(...data.map((d) => d.id));
      if (!res.body.has_more) {
        expect(res.body.next_cursor).toBeNull();
        break;
      }
      before = res.body.next_cursor as string;
    }
    expect(seen).toHaveLength(rows.length);
    expect(new Set(seen)).toEqual(new Set(rows.map((r) => r.id)));
    // A time is still accepted as `before` (strictly older).
    const legacy = await call('GET', `/v1/webhooks/${hookId}/deliveries?limit=100&before=${encodeURIComponent(same)}`, { key: account.apiKey });
    expect(legacy.status).toBe(200);
    expect((legacy.body.data as { id: string }[]).map((d) => d.id).sort()).toEqual(rows.filter((r) => r.id.startsWith('att_old_')).map((r) => r.id).sort());
    const bad = await call('GET', `/v1/webhooks/${hookId}/deliveries?before=not-a-cursor`, { key: account.apiKey });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe('before');
  });
});

describe('Postgres frozen with SIGSTOP for 15 s', () => {
  it('every request is answered within 15 s (503 + Retry-After while frozen, /ready red) and 2xx after it resumes', async () => {
    const hookId = await createHook();
    const replies: { what: string; reply: Reply }[] = [];
    const failures: string[] = [];
    const probes: Promise<void>[] = [];
    const probe = (what: string, method: string, path: string, body?: string) => {
      probes.push(
        call(method, path, { key: a.apiKey, body, timeoutMs: 15_000 }).then(
          (reply) => void replies.push({ what, reply }),
          (err: Error) => void failures.push(`${what}: ${err.message}`),
        ),
      );
    };
    await withPostgresPaused(async () => {
      const frozenAt = Date.now();
      while (Date.now() - frozenAt < 15_000) {
        probe('list', 'GET', '/v1/webhooks');
        probe('get', 'GET', `/v1/webhooks/${hookId}`);
        probe('create', 'POST', '/v1/webhooks', json({ url: LOCAL_URL, events: ['call.ended'] }));
        probe('ready', 'GET', '/ready');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // Everything sent while frozen is answered while still frozen (or failed the 15 s bound).
      await Promise.all(probes.splice(0));
    });
    expect(failures).toEqual([]);
    expect(replies.length).toBeGreaterThanOrEqual(40);
    for (const { what, reply } of replies) {
      expect({ what, ms: reply.ms, ok: reply.ms < 15_000 }).toEqual({ what, ms: reply.ms, ok: true });
      expect({ what, status: reply.status }).toEqual({ what, status: 503 });
      if (what !== 'ready') expect(reply.headers['retry-after']).toMatch(/^\d+$/);
      else expect((reply.body.checks as Record<string, { ok: boolean }>).postgres.ok).toBe(false);
    }
    // After SIGCONT: 2xx again, and ready.
    await waitFor(async () => (await call('GET', '/v1/webhooks', { key: a.apiKey })).status === 200, { timeoutMs: 20_000, message: 'API answers 200 after resume' });
    expect((await call('GET', `/v1/webhooks/${hookId}`, { key: a.apiKey })).status).toBe(200);
    await waitFor(async () => (await call('GET', '/ready')).status === 200, { timeoutMs: 20_000, message: '/ready green after resume' });
  });
});
