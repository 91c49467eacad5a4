/**
 * Secret rotation with overlap (decision 0010), on the real Postgres + Kafka: subscription-api and the
 * dispatcher in-process, a real HTTP receiver. The endpoint returns the new secret once; the snapshot
 * on `webhooks.subscriptions` carries the previous secret with its expiry; during the overlap every
 * delivery verifies with the old secret (the seed's function on X-ODIS-Signature), with the new one
 * (X-ODIS-Signature-Next, and a Standard Webhooks check) and with both; after the overlap only the
 * new secret signs. Every delivery is also verified with the `standardwebhooks` npm library (the
 * Standard Webhooks reference implementation), given our `whsec_` form of the old and of the new
 * secret. The receiver verifies each request with both the seed's function and the library, switches
 * secrets mid-way and answers 401 to anything it cannot verify, so a lost delivery would show as a
 * failed attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { INestApplication } from '@nestjs/common';
import { newId, SecretBox, standardWebhookSecret, SubscriptionSnapshotCodec, TOPICS, ValidatedEventCodec, SEED_EXAMPLES, type SubscriptionSnapshot } from '@odis/contracts';
import { startTestReceiver, verifyOdisRequest, verifyStandardWebhook, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { createAccount, TEST_ENCRYPTION_KEY } from '../api/subscription-api.harness.js';
import { suffix, TestKafka, waitRouted, type TopicTap } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';
import { waitFor } from '../support/infra.js';

/** The verification function of the public Webhooks page, verbatim. */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return `sha256=${expected}` === signature;
}

/** The Standard Webhooks library's verification (throws when no signature matches or the timestamp is off). */
function libraryVerifies(body: Buffer, headers: Record<string, unknown>, secret: string): boolean {
  const wanted = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k) => [k, String(headers[k] ?? '')]));
  try {
    new Webhook(standardWebhookSecret(secret)).verify(body, wanted);
    return true;
  } catch {
    return false;
  }
}

const OLD = `old-secret-${suffix()}`;
const OVERLAP_S = 8;

describe('POST /v1/webhooks/{id}/rotate-secret (real stack)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let dispatcherUrl: string;
  let receiver: TestReceiver;
  let changelog: TopicTap;
  let auth: Record<string, string>;
  let accountId: string;
  const webhookIds: string[] = [];
  /** What the receiver's operator has configured: the secrets it tries, in order (changed mid-test). */
  let receiverSecrets: string[] = [OLD];

  beforeAll(async () => {
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(tag, {}));
    const account = await createAccount(`Rotation ${tag}`);
    accountId = account.accountId;
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    // A receiver using the seed's function on X-ODIS-Signature and the Standard Webhooks library on
    // webhook-signature, with each secret it holds: both must accept the request.
    receiver = await startTestReceiver({
      respond: (req) => {
        const seedOk = receiverSecrets.some((s) => verifyWebhook(req.body.toString('utf8'), String(req.headers['x-odis-signature']), s));
        const libraryOk = receiverSecrets.some((s) => libraryVerifies(req.body, req.headers, s));
        return { status: seedOk && libraryOk ? 204 : 401 };
      },
    });
    changelog = await kafka.tap(TOPICS.subscriptions, (m) => webhookIds.includes(m.key?.toString() ?? ''));
  }, 120_000);

  afterAll(async () => {
    for (const id of webhookIds) await request(api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth);
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  async function createWebhook(secret: string): Promise<string> {
    const res = await request(api.getHttpServer()).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}/hook`, events: ['call.started'], secret });
    expect(res.status).toBe(201);
    webhookIds.push(res.body.id);
    return res.body.id as string;
  }

  async function deliverOne(webhookId: string): Promise<ReceivedRequest> {
    const eventId = newId('evt');
    const before = receiver.requests.length;
    const sample = SEED_EXAMPLES['call.started'];
    await kafka.producer.sendOne(TOPICS.callStarted, ValidatedEventCodec.encode({
      v: 1,
      event_id: eventId,
      account_id: accountId,
      event: 'call.started',
      timestamp: sample.timestamp,
      data: sample.data,
      received_at: new Date().toISOString(),
    }));
    await waitFor(() => receiver.requests.slice(before).some((r) => r.headers['x-odis-event-id'] === eventId), { timeoutMs: 20_000, intervalMs: 50, message: `delivery of ${eventId}` });
    const delivered = receiver.requests.slice(before).filter((r) => r.headers['x-odis-event-id'] === eventId);
    expect(delivered).toHaveLength(1); // the receiver verified it at the first attempt (a 401 would bring a retry)
    return delivered[0];
  }

  function snapshotsOf(id: string): SubscriptionSnapshot[] {
    return changelog.records
      .filter((m) => m.key?.toString() === id && m.value)
      .map((m) => {
        const decoded = SubscriptionSnapshotCodec.decode(m.value);
        if (!decoded.ok) throw new Error(decoded.reason);
        return decoded.value;
      });
  }

  it('refuses a bad overlap or secret naming the field, 404s an unknown webhook, and rotates a disabled one', async () => {
    const id = await createWebhook(`disabled-${suffix()}`);
    const server = api.getHttpServer();
    for (const [body, field] of [[{ overlap: '8d' }, 'overlap'], [{ overlap: 'soon' }, 'overlap'], [{ secret: 'short' }, 'secret'], [{ overlap: '1h', extra: 1 }, 'extra']] as const) {
      const res = await request(server).post(`/v1/webhooks/${id}/rotate-secret`).set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe(field);
    }
    expect((await request(server).post(`/v1/webhooks/wh_unknown123/rotate-secret`).set(auth).send({})).status).toBe(404);
    await request(server).patch(`/v1/webhooks/${id}`).set(auth).send({ status: 'disabled' }).expect(200);
    // No body at all: a generated secret and the default 24h overlap.
    const rotated = await request(server).post(`/v1/webhooks/${id}/rotate-secret`).set({ Authorization: auth.Authorization });
    expect(rotated.status).toBe(200);
    expect(rotated.body.status).toBe('disabled');
    expect(typeof rotated.body.secret).toBe('string');
    const hours = (Date.parse(rotated.body.previous_secret_expires_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    await request(server).delete(`/v1/webhooks/${id}`).set(auth).expect(204);
    expect((await request(server).post(`/v1/webhooks/${id}/rotate-secret`).set(auth).send({})).status).toBe(404);
  });

  it('returns the new secret once; the changelog carries the previous secret; deliveries verify with either secret during the overlap and with the new one only after', async () => {
    const server = api.getHttpServer();
    const id = await createWebhook(OLD);
    await waitRouted(dispatcherUrl, id, { version: 1 });
    const first = await deliverOne(id);
    expect(first.headers).not.toHaveProperty('x-odis-signature-next');

    const rotatedAt = Date.now();
    const rotated = await request(server).post(`/v1/webhooks/${id}/rotate-secret`).set(auth).send({ overlap: `${OVERLAP_S}s` });
    expect(rotated.status).toBe(200);
    const NEW = rotated.body.secret as string;
    expect(NEW.length).toBeGreaterThanOrEqual(32);
    expect(rotated.body).toMatchObject({ id, version: 2, secret_hint: NEW.slice(-4) });
    const expiresAt = Date.parse(rotated.body.previous_secret_expires_at);
    expect(expiresAt - rotatedAt).toBeGreaterThanOrEqual(OVERLAP_S * 1000 - 50);
    expect(expiresAt - rotatedAt).toBeLessThanOrEqual(OVERLAP_S * 1000 + 2000);
    // Never again: not on GET, the list or the history.
    for (const path of [`/v1/webhooks/${id}`, '/v1/webhooks', `/v1/webhooks/${id}/events`]) {
      const res = await request(server).get(path).set(auth);
      expect(JSON.stringify(res.body)).not.toContain(NEW);
      expect(JSON.stringify(res.body)).not.toContain('secret_encrypted');
    }

    // The snapshot: both secrets sealed, the previous one with its expiry.
    await waitFor(() => snapshotsOf(id).some((s) => s.version === 2), { timeoutMs: 20_000, intervalMs: 50, message: 'snapshot v2' });
    const snap = snapshotsOf(id).find((s) => s.version === 2)!;
    const box = SecretBox.fromBase64(TEST_ENCRYPTION_KEY);
    expect(box.decrypt(snap.secret_encrypted, id)).toBe(NEW);
    expect(snap.previous_secret?.expires_at).toBe(new Date(expiresAt).toISOString());
    expect(box.decrypt(snap.previous_secret!.secret_encrypted, id)).toBe(OLD);
    expect(JSON.stringify(snap)).not.toContain(OLD);

    // During the overlap: the receiver has not switched yet (old secret only) …
    await waitRouted(dispatcherUrl, id, { version: 2 });
    const during = [await deliverOne(id)];
    // … then switches: it holds both while the overlap lasts.
    receiverSecrets = [NEW, OLD];
    during.push(await deliverOne(id));
    // … and drops the old one before the overlap ends: still nothing lost (the new signature is there too).
    receiverSecrets = [NEW];
    during.push(await deliverOne(id));
    expect(Date.now()).toBeLessThan(expiresAt); // both were sent within the overlap
    for (const req of during) {
      const body = req.body.toString('utf8');
      const h = req.headers;
      const nowS = Math.floor(Date.now() / 1000);
      expect(verifyWebhook(body, String(h['x-odis-signature']), OLD)).toBe(true);
      expect(verifyWebhook(body, String(h['x-odis-signature-next']), NEW)).toBe(true);
      expect(verifyOdisRequest(req.body, h, OLD)).toBe(true);
      expect(verifyOdisRequest(req.body, h, NEW)).toBe(true);
      expect(verifyStandardWebhook(req.body, h, standardWebhookSecret(OLD), { nowSeconds: nowS })).toBe(true);
      expect(verifyStandardWebhook(req.body, h, standardWebhookSecret(NEW), { nowSeconds: nowS })).toBe(true);
      expect(libraryVerifies(req.body, h, OLD)).toBe(true);
      expect(libraryVerifies(req.body, h, NEW)).toBe(true);
      expect(libraryVerifies(req.body, h, `other-secret-${tag}`)).toBe(false);
    }

    // After the overlap: only the new secret signs; a receiver still holding both verifies, one with the new only too.
    await waitFor(() => Date.now() > expiresAt + 200, { timeoutMs: (OVERLAP_S + 5) * 1000, intervalMs: 100 });
    receiverSecrets = [NEW, OLD];
    const after = [await deliverOne(id)];
    receiverSecrets = [NEW];
    after.push(await deliverOne(id));
    for (const req of after) {
      const body = req.body.toString('utf8');
      const h = req.headers;
      const nowS = Math.floor(Date.now() / 1000);
      expect(h).not.toHaveProperty('x-odis-signature-next');
      expect(verifyWebhook(body, String(h['x-odis-signature']), NEW)).toBe(true);
      expect(verifyWebhook(body, String(h['x-odis-signature']), OLD)).toBe(false);
      expect(String(h['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifyStandardWebhook(req.body, h, standardWebhookSecret(NEW), { nowSeconds: nowS })).toBe(true);
      expect(verifyStandardWebhook(req.body, h, standardWebhookSecret(OLD), { nowSeconds: nowS })).toBe(false);
      expect(libraryVerifies(req.body, h, NEW)).toBe(true);
      expect(libraryVerifies(req.body, h, OLD)).toBe(false);
    }
    // Six events, six requests: the receiver refused none (a 401 would have brought a retry).
    expect(receiver.requests.filter((r) => r.path === '/hook')).toHaveLength(6);
    const get = await request(server).get(`/v1/webhooks/${id}`).set(auth);
    expect(get.body.previous_secret_expires_at).toBeNull();
  }, 90_000);
});
