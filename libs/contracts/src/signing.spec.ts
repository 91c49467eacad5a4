import { describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { odisSignature, safeEqual, standardWebhookSecret, standardWebhookSignature } from './signing.js';
import { SEED_EXAMPLES } from './examples.js';
import { serializeWebhookPayload } from './events.js';

/** The verification function of the public Webhooks page, verbatim. */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return `sha256=${expected}` === signature;
}

/** An independent Standard Webhooks verifier written from the spec (not our signing code). */
function verifyStandardWebhook(whsec: string, id: string, ts: string, body: Buffer, header: string): boolean {
  const key = Buffer.from(whsec.replace(/^whsec_/, ''), 'base64');
  const signed = Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);
  const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
  return header.split(' ').some((part) => part === `v1,${expected}`);
}

const bodies: [string, string][] = [
  ['ascii seed sample', serializeWebhookPayload(SEED_EXAMPLES['call.started'])],
  ['German umlauts', JSON.stringify({ summary: 'Hund „Bello“ – Größe: groß, Tierärztin Müller' })],
  ['emoji and CJK', JSON.stringify({ transcript: '🐶 Buddy 需要 ワクチン ✔' })],
  ['escaped unicode', '{"a":"\\u00e9","b":"é"}'],
  ['empty body', ''],
];

describe('odisSignature (X-ODIS-Signature)', () => {
  it.each(bodies)('is accepted by the seed verification code: %s', (_name, body) => {
    const secret = 'your_webhook_secret';
    const header = odisSignature(secret, body);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook(body, header, secret)).toBe(true);
  });

  it('signs the raw UTF-8 bytes: string and Buffer of the same text give the same header', () => {
    const body = '{"client_name":"Zoë Ångström"}';
    expect(odisSignature('s3cr3t-s3cr3t-s3cr3t', Buffer.from(body, 'utf8'))).toBe(odisSignature('s3cr3t-s3cr3t-s3cr3t', body));
  });

  it('keys with the secret as UTF-8, also for a non-ASCII secret', () => {
    const secret = 'geheimnis-äöü-🔑-0123';
    const body = '{"x":1}';
    expect(verifyWebhook(body, odisSignature(secret, body), secret)).toBe(true);
  });

  it('is rejected by the seed code for a changed body, a changed secret, or a Latin-1 re-encoding', () => {
    const body = '{"patient_name":"Gänseblümchen"}';
    const header = odisSignature('right-secret-123456', body);
    expect(verifyWebhook(body + ' ', header, 'right-secret-123456')).toBe(false);
    expect(verifyWebhook(body, header, 'wrong-secret-123456')).toBe(false);
    const latin1 = crypto.createHmac('sha256', 'right-secret-123456').update(Buffer.from(body, 'latin1')).digest('hex');
    expect(header).not.toBe(`sha256=${latin1}`);
  });

  it('matches a known vector', () => {
    // HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog"), RFC-era well-known value.
    expect(odisSignature('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });
});

describe('standardWebhookSignature (webhook-signature)', () => {
  it.each(bodies)('verifies with whsec_ + base64(secret) in an independent verifier: %s', (_name, body) => {
    const secret = 'your_webhook_secret';
    const header = standardWebhookSignature(secret, 'dlv_123', 1700000000, body);
    expect(header).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verifyStandardWebhook(standardWebhookSecret(secret), 'dlv_123', '1700000000', Buffer.from(body), header)).toBe(true);
  });

  it('changes with the id and the timestamp (replay protection)', () => {
    const a = standardWebhookSignature('secret-secret-1234', 'dlv_1', 1700000000, '{}');
    expect(standardWebhookSignature('secret-secret-1234', 'dlv_2', 1700000000, '{}')).not.toBe(a);
    expect(standardWebhookSignature('secret-secret-1234', 'dlv_1', 1700000001, '{}')).not.toBe(a);
  });
});

describe('webhook-signature with the standardwebhooks library (npm `standardwebhooks`)', () => {
  const nowS = () => Math.floor(Date.now() / 1000);
  const headers = (secret: string, id: string, ts: number, body: string) => ({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': standardWebhookSignature(secret, id, ts, body) });

  it.each(bodies)('verifies our header with new Webhook(standardWebhookSecret(secret)): %s', (_name, body) => {
    for (const secret of ['your_webhook_secret', 'geheimnis-äöü-🔑-0123']) {
      const ts = nowS();
      expect(() => new Webhook(standardWebhookSecret(secret)).verify(body, headers(secret, 'dlv_123', ts, body), { jsonParse: false })).not.toThrow();
      // The raw body bytes (what a receiver has) verify the same.
      expect(() => new Webhook(standardWebhookSecret(secret)).verify(Buffer.from(body, 'utf8'), headers(secret, 'dlv_123', ts, body), { jsonParse: false })).not.toThrow();
    }
  });

  it('verifies a header carrying two signatures (rotation overlap) with either secret, and refuses a third secret, a changed body or an old timestamp', () => {
    const body = serializeWebhookPayload(SEED_EXAMPLES['call.ended']);
    const ts = nowS();
    const both = { 'webhook-id': 'dlv_9', 'webhook-timestamp': String(ts), 'webhook-signature': `${standardWebhookSignature('new-secret-0123456789', 'dlv_9', ts, body)} ${standardWebhookSignature('old-secret-0123456789', 'dlv_9', ts, body)}` };
    expect(new Webhook(standardWebhookSecret('old-secret-0123456789')).verify(body, both)).toEqual(JSON.parse(body));
    expect(new Webhook(standardWebhookSecret('new-secret-0123456789')).verify(body, both)).toEqual(JSON.parse(body));
    expect(() => new Webhook(standardWebhookSecret('other-secret-0123456')).verify(body, both)).toThrow(/No matching signature/);
    expect(() => new Webhook(standardWebhookSecret('old-secret-0123456789')).verify(`${body} `, both)).toThrow(/No matching signature/);
    const stale = headers('old-secret-0123456789', 'dlv_9', ts - 600, body);
    expect(() => new Webhook(standardWebhookSecret('old-secret-0123456789')).verify(body, stale)).toThrow(/too old/);
  });

  it('takes the secret as whsec_ + base64 of its UTF-8 bytes; the library\'s "raw" format matches only for an ASCII secret', () => {
    const body = '{"x":1}';
    const ts = nowS();
    expect(() => new Webhook('your_webhook_secret', { format: 'raw' }).verify(body, headers('your_webhook_secret', 'dlv_1', ts, body))).not.toThrow();
    // raw takes one byte per UTF-16 code unit, not UTF-8: a non-ASCII secret must be given in the whsec_ form.
    expect(() => new Webhook('geheimnis-äöü-0123', { format: 'raw' }).verify(body, headers('geheimnis-äöü-0123', 'dlv_1', ts, body))).toThrow();
  });
});

describe('safeEqual', () => {
  it('compares in constant time and handles length mismatch', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
