import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { SecretBox } from '@odis/contracts';
import { createAccount, startSubscriptionApi, TEST_ENCRYPTION_KEY, withDataSource } from './subscription-api.harness.js';

/** The request body printed on the public Webhooks page, verbatim (URL host aside). */
const SEED_BODY = `{
    "url": "https://your-server.com/webhooks/odis",
    "events": ["call.started", "call.ended"],
    "secret": "your_webhook_secret"
  }`;

/** This closed network has no DNS: the strict app resolves host names through a stub (public address). */
const LOCAL_URL = 'http://127.0.0.1:9/hook';

let app: INestApplication;
let strictApp: INestApplication;
let a: { accountId: string; apiKey: string };
let b: { accountId: string; apiKey: string };

const api = () => request(app.getHttpServer());
const auth = (key = a.apiKey) => ({ Authorization: `Bearer ${key}` });

async function createHook(body: Record<string, unknown> = {}, key = a.apiKey) {
  const res = await api()
    .post('/v1/webhooks')
    .set(auth(key))
    .send({ url: LOCAL_URL, events: ['call.started'], secret: 'a-very-secret-secret', ...body });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number; [k: string]: unknown };
}

beforeAll(async () => {
  app = await startSubscriptionApi();
  strictApp = await startSubscriptionApi({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' }, {
    resolver: async (host) => (host === 'rebind.example.com' ? [{ address: '10.1.2.3', family: 4 }] : [{ address: '52.10.20.30', family: 4 }]),
  });
  a = await createAccount('Happy Paws');
  b = await createAccount('Second Clinic');
});

afterAll(async () => {
  await app?.close();
  await strictApp?.close();
});

describe('POST /v1/webhooks', () => {
  it("accepts the seed's exact curl body (https, public host)", async () => {
    const local = await request(strictApp.getHttpServer()).post('/v1/webhooks').set({ ...auth(), 'Content-Type': 'application/json' }).send(SEED_BODY);
    expect(local.status).toBe(201);
    expect(local.body).toMatchObject({
      object: 'webhook',
      url: 'https://your-server.com/webhooks/odis',
      events: ['call.started', 'call.ended'],
      status: 'active',
      secret_hint: 'cret',
      version: 1,
    });
    expect(local.body.id).toMatch(/^wh_/);
    expect(new Date(local.body.created_at).toISOString()).toBe(local.body.created_at);
    expect(local.body).not.toHaveProperty('secret');
    expect(JSON.stringify(local.body)).not.toContain('your_webhook_secret');
    expect(local.headers.etag).toBe('"1"');
    expect(local.headers.location).toBe(`/v1/webhooks/${local.body.id}`);
  });

  it('generates a secret when none is given and returns it in the create response only', async () => {
    const created = await createHook({ secret: undefined });
    expect(typeof created.secret).toBe('string');
    expect((created.secret as string).length).toBeGreaterThanOrEqual(32);
    expect(created.secret_hint).toBe((created.secret as string).slice(-4));
    const got = await api().get(`/v1/webhooks/${created.id}`).set(auth());
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty('secret');
    const list = await api().get('/v1/webhooks?limit=100').set(auth());
    expect(JSON.stringify(list.body)).not.toContain(created.secret as string);
  });

  it('stores the secret encrypted, never in plain text, and the ciphertext decrypts with the key', async () => {
    const secret = 'plain-text-canary-7f3a9c';
    const created = await createHook({ secret });
    await withDataSource(async (ds) => {
      const dump = await ds.query(
        `SELECT (SELECT json_agg(s) FROM subscriptions s WHERE id = $1)::text AS subs,
                (SELECT json_agg(e) FROM subscription_events e WHERE subscription_id = $1)::text AS events,
                (SELECT coalesce(json_agg(o), '[]') FROM outbox o WHERE message_key = $1)::text AS outbox`,
        [created.id],
      );
      const text = JSON.stringify(dump);
      expect(text).not.toContain(secret);
      const [{ secret_encrypted }] = await ds.query('SELECT secret_encrypted FROM subscriptions WHERE id = $1', [created.id]);
      expect(secret_encrypted).toMatch(/^enc:v1:/);
      expect(SecretBox.fromBase64(TEST_ENCRYPTION_KEY).decrypt(secret_encrypted, created.id)).toBe(secret);
    });
    const history = await api().get(`/v1/webhooks/${created.id}/events`).set(auth());
    expect(JSON.stringify(history.body)).not.toContain('enc:v1');
  });

  const invalid: [string, unknown, string, string][] = [
    ['unknown event type', { url: LOCAL_URL, events: ['call.exploded'], secret: 'a-very-secret-secret' }, 'events', 'invalid_field'],
    ['empty events list', { url: LOCAL_URL, events: [], secret: 'a-very-secret-secret' }, 'events', 'invalid_field'],
    ['events not a list', { url: LOCAL_URL, events: 'call.started', secret: 'a-very-secret-secret' }, 'events', 'invalid_field'],
    ['missing url', { events: ['call.started'] }, 'url', 'invalid_field'],
    ['not a URL', { url: 'your-server.com/hook', events: ['call.started'] }, 'url', 'invalid_field'],
    ['secret shorter than 16', { url: LOCAL_URL, events: ['call.started'], secret: 'short' }, 'secret', 'invalid_field'],
    ['over-long url', { url: `https://a.example/${'x'.repeat(2100)}`, events: ['call.started'] }, 'url', 'invalid_field'],
    ['over-long description', { url: LOCAL_URL, events: ['call.started'], description: 'd'.repeat(501) }, 'description', 'invalid_field'],
    ['over-long secret', { url: LOCAL_URL, events: ['call.started'], secret: 's'.repeat(257) }, 'secret', 'invalid_field'],
    ['unknown field', { url: LOCAL_URL, events: ['call.started'], secrets: 'typo-typo-typo-typo' }, 'secrets', 'unknown_field'],
  ];
  it.each(invalid)('400 for %s, naming the field, writing nothing', async (_name, body, field, code) => {
    const count = () => withDataSource((ds) => ds.query('SELECT count(*)::int AS n FROM subscription_events WHERE account_id = $1', [a.accountId]));
    const before = await count();
    const res = await api().post('/v1/webhooks').set(auth()).send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toContain(field);
    expect((await count())[0].n).toBe(before[0].n);
  });

  it('400 malformed JSON', async () => {
    const res = await api().post('/v1/webhooks').set({ ...auth(), 'Content-Type': 'application/json' }).send('{"url": "https://a.example", ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
  });

  it('413 oversized body', async () => {
    const res = await api()
      .post('/v1/webhooks')
      .set(auth())
      .send({ url: LOCAL_URL, events: ['call.started'], description: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it.each([
    ['https://127.0.0.1/hook', /private, loopback/],
    ['https://169.254.169.254/latest/meta-data/', /private, loopback/],
    ['https://[::1]:8443/hook', /private, loopback/],
    ['https://10.0.0.7/hook', /private, loopback/],
    ['http://hooks.example.com/x', /https/],
    ['https://localhost/hook', /localhost/],
    ['https://rebind.example.com/hook', /^url: host rebind.example.com resolves to a private, loopback, link-local or reserved address$/],
  ])('refuses the target %s when private targets are not allowed', async (url, reason) => {
    const res = await request(strictApp.getHttpServer()).post('/v1/webhooks').set(auth()).send({ url, events: ['call.started'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_field', field: 'url' });
    expect(res.body.error.message).toMatch(reason);
  });
});

describe('authentication, tenancy and rate limits', () => {
  it('401 without a key and with an unknown key', async () => {
    const none = await api().get('/v1/webhooks');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('missing_api_key');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const bad = await api().get('/v1/webhooks').set(auth('odis_sk_not-a-real-key'));
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_api_key');
  });

  it("404 for an unknown id and for another account's webhook, on every verb; lists are per account", async () => {
    const mine = await createHook();
    const unknown = await api().get('/v1/webhooks/wh_doesnotexist').set(auth());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    for (const req of [
      api().get(`/v1/webhooks/${mine.id}`),
      api().patch(`/v1/webhooks/${mine.id}`).send({ description: 'hijack' }),
      api().delete(`/v1/webhooks/${mine.id}`),
      api().get(`/v1/webhooks/${mine.id}/events`),
      api().get(`/v1/webhooks/${mine.id}/deliveries`),
    ]) {
      const res = await req.set(auth(b.apiKey));
      expect(res.status).toBe(404);
    }
    const listB = await api().get('/v1/webhooks?limit=100').set(auth(b.apiKey));
    expect(listB.body.data.map((w: { id: string }) => w.id)).not.toContain(mine.id);
    const still = await api().get(`/v1/webhooks/${mine.id}`).set(auth());
    expect(still.body.description).toBeNull();
  });

  it('429 with Retry-After when a key exceeds its rate', async () => {
    const limited = await startSubscriptionApi({ API_RATE_LIMIT_PER_SECOND: '1', API_RATE_LIMIT_BURST: '3' });
    try {
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await request(limited.getHttpServer()).get('/v1/webhooks').set(auth());
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers['retry-after'];
          expect(res.body.error.code).toBe('rate_limited');
        }
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      const other = await request(limited.getHttpServer()).get('/v1/webhooks').set(auth(b.apiKey));
      expect(other.status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('GET, PATCH, DELETE', () => {
  it('paginates with a cursor', async () => {
    const c = await createAccount('Paging Clinic');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createHook({ description: `hook ${i}` }, c.apiKey)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await api()
        .get(`/v1/webhooks?limit=2${cursor ? `&starting_after=${cursor}` : ''}`)
        .set(auth(c.apiKey));
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((w: { id: string }) => w.id));
      cursor = res.body.next_cursor;
      expect(res.body.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const bad = await api().get('/v1/webhooks?limit=1000').set(auth(c.apiKey));
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('limit');
  });

  it('PATCH changes fields, rotates the secret, disables and re-enables; 409 on a stale If-Match', async () => {
    const hook = await createHook();
    const patched = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).set('If-Match', '"1"').send({ events: ['call.ended', 'appointment.created'], secret: 'rotated-secret-0001' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ['call.ended', 'appointment.created'], secret_hint: '0001', version: 3 });
    const stale = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).set('If-Match', '"1"').send({ description: 'late' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    expect((await api().get(`/v1/webhooks/${hook.id}`).set(auth())).body.description).toBeNull();
    const disabled = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({ status: 'disabled' });
    expect(disabled.body).toMatchObject({ status: 'disabled', disabled_reason: 'disabled by the account' });
    const enabled = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({ status: 'active' });
    expect(enabled.body).toMatchObject({ status: 'active', disabled_reason: null, disabled_at: null });
    const badStatus = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({ status: 'paused' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.field).toBe('status');
    const empty = await api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({});
    expect(empty.status).toBe(400);
  });

  it('a race of two PATCHes with the same If-Match: exactly one wins, the other gets 409, nothing is lost', async () => {
    const hook = await createHook();
    const [r1, r2] = await Promise.all([
      api().patch(`/v1/webhooks/${hook.id}`).set(auth()).set('If-Match', '"1"').send({ description: 'first' }),
      api().patch(`/v1/webhooks/${hook.id}`).set(auth()).set('If-Match', '"1"').send({ events: ['call.ended'] }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const final = (await api().get(`/v1/webhooks/${hook.id}`).set(auth())).body;
    expect(final.version).toBe(2);
    const winner = r1.status === 200 ? r1.body : r2.body;
    expect(final).toEqual(winner);
    const history = (await api().get(`/v1/webhooks/${hook.id}/events`).set(auth())).body.data;
    expect(history.map((e: { version: number }) => e.version)).toEqual([1, 2]);
  });

  it('a race of two PATCHes without If-Match: both apply as deltas, none is lost', async () => {
    const hook = await createHook();
    const [r1, r2] = await Promise.all([
      api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({ description: 'both' }),
      api().patch(`/v1/webhooks/${hook.id}`).set(auth()).send({ events: ['call.ended'] }),
    ]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const final = (await api().get(`/v1/webhooks/${hook.id}`).set(auth())).body;
    expect(final).toMatchObject({ description: 'both', events: ['call.ended'], version: 3 });
  });

  it('DELETE removes it (404 afterwards) and keeps its history readable', async () => {
    const hook = await createHook();
    expect((await api().delete(`/v1/webhooks/${hook.id}`).set(auth())).status).toBe(204);
    expect((await api().get(`/v1/webhooks/${hook.id}`).set(auth())).status).toBe(404);
    expect((await api().delete(`/v1/webhooks/${hook.id}`).set(auth())).status).toBe(404);
    const history = (await api().get(`/v1/webhooks/${hook.id}/events`).set(auth())).body.data;
    expect(history.map((e: { type: string }) => e.type)).toEqual(['created', 'deleted']);
  });
});

describe('catalogue, IPs and docs', () => {
  it('GET /v1/event-types lists the three events with schema and example', async () => {
    const res = await api().get('/v1/event-types').set(auth());
    expect(res.status).toBe(200);
    expect(res.body.data.map((t: { type: string }) => t.type)).toEqual(['call.started', 'call.ended', 'appointment.created']);
    const ended = res.body.data[1];
    expect(ended.example.data.summary).toBe('Customer called to schedule appointment for dog checkup.');
    expect(ended.schema.properties.data.required).toEqual(expect.arrayContaining(['call_id', 'duration_seconds', 'sentiment']));
  });

  it('GET /v1/webhooks/ips lists the egress addresses of the seed', async () => {
    const res = await api().get('/v1/webhooks/ips').set(auth());
    expect(res.body.data).toEqual(['52.123.45.67', '52.123.45.68']);
  });

  it('serves the OpenAPI document and the dashboard page', async () => {
    const doc = await api().get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/webhooks', '/v1/webhooks/{id}', '/v1/event-types', '/v1/webhooks/ips']));
    expect(doc.body.paths['/v1/webhooks'].post.requestBody).toBeDefined();
    // Custom headers (decision 0013) are in the create and patch bodies.
    const bodySchema = (op: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }) => op.requestBody.content['application/json'].schema;
    expect(bodySchema(doc.body.paths['/v1/webhooks'].post).properties.headers).toMatchObject({ type: 'object', description: expect.stringContaining('X-ODIS-*') });
    expect(bodySchema(doc.body.paths['/v1/webhooks/{id}'].patch).properties.headers).toMatchObject({ type: 'object' });
    expect(JSON.stringify(doc.body.paths['/v1/webhooks/{id}/deliveries'].get.responses['200'])).toContain('next_attempt_at');
    const ui = await api().get('/docs');
    expect(ui.status).toBe(200);
    const page = await api().get('/dashboard');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Add Webhook');
  });

  it('answers /health and /ready', async () => {
    expect((await api().get('/health')).body.status).toBe('ok');
    const ready = await api().get('/ready');
    expect(ready.body.checks.postgres.ok).toBe(true);
  });
});
