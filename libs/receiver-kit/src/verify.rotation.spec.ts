import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { checkStandardWebhook, verifyOdisRequest, verifyStandardWebhook } from './verify.js';

const body = '{\n  "event": "call.started"\n}';
const OLD = 'old-secret-0123456789';
const NEW = 'new-secret-9876543210';
const odis = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const v1 = (secret: string, id: string, ts: number) => `v1,${createHmac('sha256', secret).update(`${id}.${ts}.${body}`).digest('base64')}`;
const whsec = (secret: string) => `whsec_${Buffer.from(secret).toString('base64')}`;
const now = 1_700_000_000;

describe('verifyOdisRequest (secret rotation)', () => {
  const overlap = { 'X-ODIS-Signature': odis(OLD), 'X-ODIS-Signature-Next': odis(NEW) };
  const after = { 'x-odis-signature': odis(NEW) };

  it('during the overlap, a receiver holding the old, the new or both secrets verifies', () => {
    expect(verifyOdisRequest(body, overlap, OLD)).toBe(true);
    expect(verifyOdisRequest(body, overlap, NEW)).toBe(true);
    expect(verifyOdisRequest(body, overlap, [NEW, OLD])).toBe(true);
  });
  it('after the overlap only the new secret verifies', () => {
    expect(verifyOdisRequest(body, after, NEW)).toBe(true);
    expect(verifyOdisRequest(body, after, [NEW, OLD])).toBe(true);
    expect(verifyOdisRequest(body, after, OLD)).toBe(false);
  });
  it('rejects other secrets, other bodies and missing headers', () => {
    expect(verifyOdisRequest(body, overlap, 'another-secret-abc')).toBe(false);
    expect(verifyOdisRequest(`${body} `, overlap, [NEW, OLD])).toBe(false);
    expect(verifyOdisRequest(body, {}, [NEW, OLD])).toBe(false);
    expect(verifyOdisRequest(body, overlap, [])).toBe(false);
  });
});

describe('checkStandardWebhook with several secrets', () => {
  const headers = (sigs: string) => ({ 'webhook-id': 'dlv_1', 'webhook-timestamp': String(now), 'webhook-signature': sigs });

  it('accepts two signatures (overlap) with either secret, or a list holding one of them', () => {
    const h = headers(`${v1(NEW, 'dlv_1', now)} ${v1(OLD, 'dlv_1', now)}`);
    expect(verifyStandardWebhook(body, h, whsec(OLD), { nowSeconds: now })).toBe(true);
    expect(verifyStandardWebhook(body, h, whsec(NEW), { nowSeconds: now })).toBe(true);
    expect(verifyStandardWebhook(body, headers(v1(NEW, 'dlv_1', now)), [whsec(OLD), whsec(NEW)], { nowSeconds: now })).toBe(true);
  });
  it('rejects when no secret of the list matches, and an empty list', () => {
    const h = headers(v1(NEW, 'dlv_1', now));
    expect(checkStandardWebhook(body, h, [whsec(OLD)], { nowSeconds: now })).toEqual({ ok: false, reason: 'no matching v1 signature' });
    expect(checkStandardWebhook(body, h, [], { nowSeconds: now })).toEqual({ ok: false, reason: 'empty secret' });
  });
});
