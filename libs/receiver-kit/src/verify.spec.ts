import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { checkStandardWebhook, verifyOdisSignature, verifyStandardWebhook } from './verify.js';

const body = '{\n  "event": "call.started"\n}';
const secret = 'your_webhook_secret';
const odis = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const whsec = `whsec_${Buffer.from(secret).toString('base64')}`;

function standardHeaders(id: string, ts: number, payload = body, key = Buffer.from(secret)) {
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${payload}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` };
}

describe('verifyOdisSignature', () => {
  it('accepts the page format over the raw body (string or bytes)', () => {
    expect(verifyOdisSignature(body, odis, secret)).toBe(true);
    expect(verifyOdisSignature(Buffer.from(body), odis, secret)).toBe(true);
    expect(verifyOdisSignature(new Uint8Array(Buffer.from(body)), odis, secret)).toBe(true);
  });
  it('rejects another body, another secret, a malformed or missing header', () => {
    expect(verifyOdisSignature(body + ' ', odis, secret)).toBe(false);
    expect(verifyOdisSignature(body, odis, 'other')).toBe(false);
    expect(verifyOdisSignature(body, odis.slice(0, -1), secret)).toBe(false);
    expect(verifyOdisSignature(body, odis.replace('sha256=', 'sha1='), secret)).toBe(false);
    expect(verifyOdisSignature(body, undefined, secret)).toBe(false);
    expect(verifyOdisSignature(body, '', secret)).toBe(false);
  });
});

describe('verifyStandardWebhook', () => {
  const now = 1_700_000_000;
  it('accepts a fresh signature with the whsec_ secret, headers in any case', () => {
    const h = standardHeaders('dlv_1', now);
    expect(verifyStandardWebhook(body, h, whsec, { nowSeconds: now })).toBe(true);
    const upper = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyStandardWebhook(body, upper, whsec, { nowSeconds: now + 299 })).toBe(true);
    expect(verifyStandardWebhook(body, new Headers(h), whsec, { nowSeconds: now })).toBe(true);
  });
  it('accepts when one of several space-separated signatures matches', () => {
    const h = standardHeaders('dlv_1', now);
    h['webhook-signature'] = `v1,AAAA ${h['webhook-signature']}`;
    expect(verifyStandardWebhook(body, h, whsec, { nowSeconds: now })).toBe(true);
  });
  it('rejects stale or future timestamps outside the tolerance', () => {
    const h = standardHeaders('dlv_1', now);
    expect(checkStandardWebhook(body, h, whsec, { nowSeconds: now + 301 })).toEqual({ ok: false, reason: 'webhook-timestamp is outside the tolerance' });
    expect(verifyStandardWebhook(body, h, whsec, { nowSeconds: now - 301 })).toBe(false);
    expect(verifyStandardWebhook(body, h, whsec, { nowSeconds: now + 10, toleranceSeconds: 5 })).toBe(false);
  });
  it('rejects a tampered body, id or timestamp, a wrong secret and missing headers', () => {
    const h = standardHeaders('dlv_1', now);
    expect(verifyStandardWebhook(body + 'x', h, whsec, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, { ...h, 'webhook-id': 'dlv_2' }, whsec, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, { ...h, 'webhook-timestamp': String(now + 1) }, whsec, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, h, `whsec_${Buffer.from('nope').toString('base64')}`, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, { 'webhook-id': 'dlv_1' }, whsec, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, { ...h, 'webhook-timestamp': 'abc' }, whsec, { nowSeconds: now })).toBe(false);
    expect(verifyStandardWebhook(body, { ...h, 'webhook-signature': 'v2,xyz' }, whsec, { nowSeconds: now })).toBe(false);
  });
});
