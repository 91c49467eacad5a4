import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { AttemptLogProjector } from './attempt-log.projector.js';
import { DeliveryLogRepository, MAX_STORED_BODY_CHARS, MAX_STORED_HEADERS } from './delivery-log.repository.js';

const record = {
  v: 1,
  attempt_id: 'att_1',
  delivery_id: 'dlv_1',
  event_id: 'evt_1',
  event_type: 'call.started',
  account_id: 'acct_1',
  subscription_id: 'wh_1',
  url: 'https://clinic.example/hook',
  attempt: 1,
  outcome: 'failed',
  status_code: 500,
  error_class: 'http_status',
  error_message: 'HTTP 500 \0 from receiver',
  duration_ms: 12.5,
  response_excerpt: 'oops\0\uD800',
  attempted_at: '2024-01-15T10:30:00.000Z',
  next_attempt_at: 1705314660000,
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

function projectorWith(query: (sql: string, params: unknown[]) => Promise<unknown>) {
  return new AttemptLogProjector(new DeliveryLogRepository({ query } as unknown as DataSource));
}

describe('AttemptLogProjector', () => {
  it('stores NUL bytes and lone surrogates escaped, so the insert cannot fail on content', async () => {
    let params: unknown[] = [];
    const result = await projectorWith(async (_sql, p) => {
      params = p;
    }).project(bytes(record));
    expect(result).toEqual({ ok: true });
    expect(params).toContain('HTTP 500 \\u0000 from receiver');
    expect(params).toContain('oops\\u0000\uFFFD');
    expect(params.some((p) => typeof p === 'string' && p.includes('\0'))).toBe(false);
  });

  it('stores the request headers on the attempt and the body once per delivery (first record wins), in one statement', async () => {
    const calls: { sql: string; params: unknown[] }[] = [];
    const projector = projectorWith(async (sql, params) => {
      calls.push({ sql, params });
    });
    const headers = { 'Content-Type': 'application/json', 'X-ODIS-Event-Id': 'evt_1', 'webhook-signature': 'v1,abc' };
    const body = '{"type":"call.started","data":{"note":"caf\u00e9 ☕"}}';
    await expect(projector.project(bytes({ ...record, request_headers: headers, body, manual: true }))).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    expect(calls[0].sql).toMatch(/INSERT INTO delivery_bodies[\s\S]*ON CONFLICT \(delivery_id\) DO NOTHING[\s\S]*INSERT INTO delivery_attempts/);
    expect(calls[0].params).toContain(body);
    expect(calls[0].params).toContain(JSON.stringify(headers));
    expect(calls[0].params).toContain(true);
  });

  it('an older record without headers or body stores the attempt alone; a body that cannot be kept byte for byte is not kept', async () => {
    for (const body of [undefined, 'with NUL \0 inside', 'lone \uD800 surrogate', 'x'.repeat(MAX_STORED_BODY_CHARS + 1)]) {
      const calls: { sql: string; params: unknown[] }[] = [];
      await projectorWith(async (sql, params) => {
        calls.push({ sql, params });
      }).project(bytes(body === undefined ? record : { ...record, body }));
      expect(calls).toHaveLength(1);
      expect(calls[0].sql).not.toContain('delivery_bodies');
      expect(calls[0].params.at(-2)).toBeNull(); // request_headers
      expect(calls[0].params.at(-1)).toBe(false); // manual
    }
  });

  it('bounds the headers kept of one attempt', async () => {
    let params: unknown[] = [];
    const many = Object.fromEntries(Array.from({ length: MAX_STORED_HEADERS + 10 }, (_, i) => [`x-h${i}`, 'v'.repeat(5000)]));
    await projectorWith(async (_sql, p) => {
      params = p;
    }).project(bytes({ ...record, request_headers: many }));
    const kept = JSON.parse(params[16] as string) as Record<string, string>;
    expect(Object.keys(kept)).toHaveLength(MAX_STORED_HEADERS);
    expect(Object.values(kept).every((v) => v.length === 1024)).toBe(true);
  });

  it('asks to wait while Postgres is away (never a dead letter), whatever form the outage takes', async () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Query read timeout'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('terminating connection due to administrator command'), { name: 'error', code: '57P01', severity: 'FATAL' }),
      new Error('an error nobody classified'),
    ]) {
      const result = await projectorWith(async () => {
        throw error;
      }).project(bytes(record));
      expect(result).toEqual({ ok: false, permanent: false, dependency: 'postgres', reason: error.message });
    }
  });

  it('dead-letters what can never be stored: an undecodable record, a statement Postgres refuses for its values', async () => {
    const projector = projectorWith(async () => {
      throw Object.assign(new Error('value too long for type character varying(64)'), { name: 'error', code: '22001', severity: 'ERROR' });
    });
    await expect(projector.project(Buffer.from('{"v":1'))).resolves.toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/^undecodable attempt record/) });
    await expect(projector.project(bytes(record))).resolves.toMatchObject({ ok: false, permanent: true, reason: expect.stringContaining('value too long') });
  });
});
