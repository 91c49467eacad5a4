import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@odis/platform';
import { ZodPipe } from '../webhooks/zod-body.pipe.js';
import { deliveriesQuery, deliveryStatus, hourBuckets, parseWindow, windowStart } from './delivery-query.js';

const pipe = new ZodPipe(deliveriesQuery, 'query');
function rejection(query: Record<string, string>): { status: number; field: string | undefined } {
  try {
    pipe.transform(query);
  } catch (e) {
    const err = e as ApiError;
    return { status: err.status, field: err.field };
  }
  throw new Error(`accepted ${JSON.stringify(query)}`);
}

describe('deliveries query', () => {
  it('accepts every filter together, with the defaults', () => {
    expect(
      pipe.transform({ outcome: 'failed', event_type: 'call.ended', event_id: 'evt_1', since: '2026-11-29T10:00:00Z', until: '2026-11-29T12:00:00+01:00', before: 'dc1_x' }),
    ).toEqual({ limit: 20, outcome: 'failed', event_type: 'call.ended', event_id: 'evt_1', since: '2026-11-29T10:00:00Z', until: '2026-11-29T12:00:00+01:00', before: 'dc1_x' });
    expect(pipe.transform({})).toEqual({ limit: 20 });
  });

  it('a bad value is a 400 naming its field', () => {
    expect(rejection({ event_type: 'call.exploded' })).toEqual({ status: 400, field: 'event_type' });
    expect(rejection({ outcome: 'maybe' })).toEqual({ status: 400, field: 'outcome' });
    expect(rejection({ since: 'yesterday' })).toEqual({ status: 400, field: 'since' });
    expect(rejection({ until: '2026-11-29' })).toEqual({ status: 400, field: 'until' });
    expect(rejection({ event_id: '' })).toEqual({ status: 400, field: 'event_id' });
    expect(rejection({ event_id: 'e'.repeat(201) })).toEqual({ status: 400, field: 'event_id' });
    expect(rejection({ limit: '0' })).toEqual({ status: 400, field: 'limit' });
    expect(rejection({ status: 'failed' })).toEqual({ status: 400, field: 'status' });
  });

  it('since must be before until (equal is empty, so refused too); offsets are compared as instants', () => {
    expect(rejection({ since: '2026-11-29T12:00:00Z', until: '2026-11-29T11:00:00Z' })).toEqual({ status: 400, field: 'since' });
    expect(rejection({ since: '2026-11-29T12:00:00Z', until: '2026-11-29T12:00:00Z' })).toEqual({ status: 400, field: 'since' });
    expect(rejection({ since: '2026-11-29T12:30:00+01:00', until: '2026-11-29T11:30:00Z' })).toEqual({ status: 400, field: 'since' });
    expect(pipe.transform({ since: '2026-11-29T12:00:00+01:00', until: '2026-11-29T11:30:00Z' })).toMatchObject({ since: '2026-11-29T12:00:00+01:00' });
  });
});

describe('deliveryStatus (decided by the last attempt)', () => {
  const at = new Date('2026-11-29T13:05:00Z');
  const failed = (next: Date | null = null) => ({ outcome: 'failed', nextAttemptAt: next });
  it('succeeded after failures', () => {
    expect(deliveryStatus([failed(at), { outcome: 'succeeded', nextAttemptAt: null }])).toEqual({ status: 'succeeded', nextAttemptAt: null });
  });
  it('pending while a next attempt is scheduled, with its time', () => {
    expect(deliveryStatus([failed(new Date(0)), failed(at)])).toEqual({ status: 'pending', nextAttemptAt: at });
  });
  it('failed when none follows; skipped when the webhook was off', () => {
    expect(deliveryStatus([failed(at), failed(null)])).toEqual({ status: 'failed', nextAttemptAt: null });
    expect(deliveryStatus([failed(at), { outcome: 'skipped', nextAttemptAt: null }])).toEqual({ status: 'skipped', nextAttemptAt: null });
  });
  it('refuses a delivery without attempts (the controller answers 404 before)', () => {
    expect(() => deliveryStatus([])).toThrow();
  });
});

describe('stats window', () => {
  it('accepts 1h..7d in hours or days, 24h by default', () => {
    expect(parseWindow(undefined)).toEqual({ window: '24h', hours: 24 });
    expect(parseWindow('1h')).toEqual({ window: '1h', hours: 1 });
    expect(parseWindow('7d')).toEqual({ window: '7d', hours: 168 });
    expect(parseWindow('168h')).toEqual({ window: '168h', hours: 168 });
  });

  it('anything else is a 400 naming window', () => {
    for (const bad of ['0h', '169h', '8d', '24', 'h', '1.5h', '-1h', '24H', '1w', ' 24h', '01h', '99999h']) {
      expect(() => parseWindow(bad)).toThrow(expect.objectContaining({ status: 400, field: 'window' }));
    }
  });

  it('buckets every UTC hour, oldest first, the last one the hour of now, zeros included', () => {
    const start = windowStart(new Date('2026-11-29T13:42:10.500Z'), 3);
    expect(start.toISOString()).toBe('2026-11-29T11:00:00.000Z');
    const { buckets, totals } = hourBuckets(start, 3, new Map([[2, { succeeded: 4, failed: 1, skipped: 0 }], [0, { succeeded: 0, failed: 2, skipped: 1 }]]));
    expect(buckets).toEqual([
      { hour: '2026-11-29T11:00:00.000Z', succeeded: 0, failed: 2, skipped: 1 },
      { hour: '2026-11-29T12:00:00.000Z', succeeded: 0, failed: 0, skipped: 0 },
      { hour: '2026-11-29T13:00:00.000Z', succeeded: 4, failed: 1, skipped: 0 },
    ]);
    expect(totals).toEqual({ succeeded: 4, failed: 3, skipped: 1 });
  });
});
