import { describe, expect, it } from '@jest/globals';
import crypto from 'crypto';
import { SEED_EXAMPLES, serializeWebhookPayload, standardWebhookSecret } from '@odis/contracts';
import { verifyOdisRequest, verifyStandardWebhook } from '@odis/receiver-kit';
import { deliveryJobFixture as job } from '@odis/testing';
import { routeFromSnapshot } from '../routing/route.js';
import { snapshot, testBox } from '../testing/fixtures.js';
import { DeliveryExecutor } from './delivery-executor.js';
import { DeliveryAttempter } from './delivery-attempter.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

/** The verification function of the public Webhooks page, verbatim. */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return `sha256=${expected}` === signature;
}

class FakeClient implements WebhookHttpClient {
  calls: Array<{ headers: Record<string, string> }> = [];
  async post(_url: string, _body: string, headers: Record<string, string>): Promise<HttpOutcome> {
    this.calls.push({ headers });
    return { kind: 'response', statusCode: 204, body: Buffer.alloc(0), truncated: false, durationMs: 1 };
  }
  close() {}
}

const body = serializeWebhookPayload(SEED_EXAMPLES['call.ended']);
const OLD = 'old-secret-0123456789';
const NEW = 'new-secret-9876543210';
const now = Date.parse('2024-01-15T10:30:05Z');

describe('DeliveryAttempter during a secret rotation overlap', () => {
  const attempter = new DeliveryAttempter(new FakeClient(), undefined, () => now);
  const target = { url: 'https://r.example.com/h', secret: NEW, previousSecret: OLD, previousSecretExpiresAtMs: now + 1000 };

  it('keeps X-ODIS-Signature on the old secret, adds X-ODIS-Signature-Next with the new one, and puts both in webhook-signature', () => {
    const h = attempter.buildHeaders(job({ body }), target, now);
    expect(verifyWebhook(body, h['X-ODIS-Signature'], OLD)).toBe(true);
    expect(verifyWebhook(body, h['X-ODIS-Signature'], NEW)).toBe(false);
    expect(verifyWebhook(body, h['X-ODIS-Signature-Next'], NEW)).toBe(true);
    expect(h['webhook-signature'].split(' ')).toHaveLength(2);
    const nowS = Math.floor(now / 1000);
    // A Standard Webhooks receiver holding either secret verifies.
    expect(verifyStandardWebhook(body, h, standardWebhookSecret(OLD), { nowSeconds: nowS })).toBe(true);
    expect(verifyStandardWebhook(body, h, standardWebhookSecret(NEW), { nowSeconds: nowS })).toBe(true);
    expect(verifyStandardWebhook(body, h, standardWebhookSecret('a-third-secret-xyz'), { nowSeconds: nowS })).toBe(false);
    // A receiver holding both secrets, trying each on X-ODIS-Signature with the seed's function, verifies.
    expect([NEW, OLD].some((s) => verifyWebhook(body, h['X-ODIS-Signature'], s))).toBe(true);
    expect(verifyOdisRequest(body, h, NEW)).toBe(true);
    expect(verifyOdisRequest(body, h, OLD)).toBe(true);
  });

  it('signs with the new secret only once the overlap has ended (also for a retry of an older delivery)', () => {
    for (const at of [now + 1000, now + 60_000]) {
      const h = attempter.buildHeaders(job({ body, attempt: 3 }), target, at);
      expect(verifyWebhook(body, h['X-ODIS-Signature'], NEW)).toBe(true);
      expect(verifyWebhook(body, h['X-ODIS-Signature'], OLD)).toBe(false);
      expect(h).not.toHaveProperty('X-ODIS-Signature-Next');
      expect(h['webhook-signature'].split(' ')).toHaveLength(1);
      expect(verifyStandardWebhook(body, h, standardWebhookSecret(OLD), { nowSeconds: Math.floor(at / 1000) })).toBe(false);
      expect(verifyStandardWebhook(body, h, standardWebhookSecret(NEW), { nowSeconds: Math.floor(at / 1000) })).toBe(true);
    }
  });

  it('without a previous secret the headers are the ones of a plain string secret', () => {
    expect(attempter.buildHeaders(job({ body }), { secret: NEW }, now)).toEqual(attempter.buildHeaders(job({ body }), NEW, now));
  });
});

describe('routeFromSnapshot with a previous secret', () => {
  const box = testBox();
  const at = Date.parse('2024-01-15T10:00:00Z');
  const withPrevious = (expiresAt: string, sealed = box.encrypt(OLD, 'wh_1')) =>
    snapshot({ secret_encrypted: box.encrypt(NEW, 'wh_1'), previous_secret: { secret_encrypted: sealed, expires_at: expiresAt } });
  const decrypt = (s: string, c: string) => box.decrypt(s, c);

  it('decrypts the previous secret while its overlap lasts, and the executor target carries it', () => {
    const built = routeFromSnapshot(withPrevious('2024-01-15T11:00:00Z'), decrypt, undefined, at);
    if (!built.ok) throw new Error(built.reason);
    expect(built.route).toMatchObject({ secret: NEW, previousSecret: OLD, previousSecretExpiresAtMs: Date.parse('2024-01-15T11:00:00Z') });
    expect(DeliveryExecutor.targetOf(built.route)).toMatchObject({ secret: NEW, previousSecret: OLD });
  });

  it('ignores an expired previous secret (and old snapshots without the field)', () => {
    const built = routeFromSnapshot(withPrevious('2024-01-15T09:59:59Z', 'not even a ciphertext'), decrypt, undefined, at);
    expect(built.ok && built.route.previousSecret).toBe(undefined);
    const plain = routeFromSnapshot(snapshot(), decrypt, undefined, at);
    expect(plain.ok && 'previousSecret' in plain.route).toBe(false);
  });

  it('fails closed when a previous secret in its overlap does not decrypt', () => {
    const built = routeFromSnapshot(withPrevious('2024-01-15T11:00:00Z', 'enc:v1:garbage'), decrypt, undefined, at);
    expect(built).toMatchObject({ ok: false, cause: 'secret' });
    expect(JSON.stringify(built)).not.toContain(OLD);
  });
});
