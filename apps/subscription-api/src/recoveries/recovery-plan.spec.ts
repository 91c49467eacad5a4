import { describe, expect, it } from '@jest/globals';
import { ValidatedEventCodec, type ValidatedEventMessage } from '@odis/contracts';
import { ApiError } from '@odis/platform';
import { chunkSize, matchRecord, newRecoveryId, paceDelay, partitionFor, recoveryDeliveryId, recoveryJob, recoveryWindow, topicsFor, type RecoveryScope } from './recovery-plan.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');

function event(over: Partial<ValidatedEventMessage> = {}): ValidatedEventMessage {
  return {
    v: 1,
    event_id: 'evt_1',
    account_id: 'acct_a',
    event: 'call.started',
    timestamp: '2026-11-30T10:00:00Z',
    data: { call_id: 'c1' },
    received_at: '2026-11-30T10:00:01Z',
    ...over,
  };
}

function record(e: ValidatedEventMessage, timestamp: number, key: string | null = e.account_id) {
  const encoded = ValidatedEventCodec.encode(e);
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(encoded.value as string), timestamp };
}

describe('recoveryWindow', () => {
  it('accepts a since within retention; until defaults to now', () => {
    expect(recoveryWindow({ since: new Date(NOW - DAY).toISOString() }, 30, NOW)).toEqual({ sinceMs: NOW - DAY, untilMs: NOW });
  });

  it('caps until at now and keeps an earlier until', () => {
    expect(recoveryWindow({ since: new Date(NOW - DAY).toISOString(), until: new Date(NOW + DAY).toISOString() }, 30, NOW).untilMs).toBe(NOW);
    expect(recoveryWindow({ since: new Date(NOW - DAY).toISOString(), until: new Date(NOW - 1000).toISOString() }, 30, NOW).untilMs).toBe(NOW - 1000);
  });

  it('refuses a since beyond retention with a 400 naming the limit', () => {
    let error: unknown;
    try {
      recoveryWindow({ since: new Date(NOW - 31 * DAY).toISOString() }, 30, NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toContain('30 days');
    expect((error as ApiError).message).toContain(new Date(NOW - 30 * DAY).toISOString());
  });

  it('refuses until <= since and a since in the future', () => {
    expect(() => recoveryWindow({ since: new Date(NOW - 1000).toISOString(), until: new Date(NOW - 2000).toISOString() }, 30, NOW)).toThrow(/until/);
    expect(() => recoveryWindow({ since: new Date(NOW + 1000).toISOString() }, 30, NOW)).toThrow(/since/);
  });
});

describe('partitionFor', () => {
  it('is stable, in range, and spreads accounts', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const p = partitionFor(`acct_${i}`, 6);
      expect(p).toBe(partitionFor(`acct_${i}`, 6));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
      seen.add(p);
    }
    expect(seen.size).toBeGreaterThan(3);
  });
});

describe('matchRecord', () => {
  const scope: RecoveryScope = { accountId: 'acct_a', eventTypes: ['call.started', 'call.ended'], sinceMs: NOW - DAY, untilMs: NOW };

  it("keeps the account's events of the wanted types in [since, until)", () => {
    expect(matchRecord(record(event(), NOW - DAY), scope)?.event_id).toBe('evt_1');
    expect(matchRecord(record(event({ event: 'call.ended' }), NOW - 1), scope)?.event).toBe('call.ended');
  });

  it('drops records outside the window (until exclusive)', () => {
    expect(matchRecord(record(event(), NOW - DAY - 1), scope)).toBeNull();
    expect(matchRecord(record(event(), NOW), scope)).toBeNull();
  });

  it("drops other accounts' records (by key and by account_id), other types, undecodable values", () => {
    expect(matchRecord(record(event({ account_id: 'acct_b' }), NOW - 10), scope)).toBeNull();
    expect(matchRecord(record(event(), NOW - 10, 'acct_b'), scope)).toBeNull();
    expect(matchRecord(record(event(), NOW - 10, null), scope)).toBeNull();
    expect(matchRecord(record(event({ account_id: 'acct_b' }), NOW - 10, 'acct_a'), scope)).toBeNull();
    expect(matchRecord(record(event({ event: 'appointment.created' }), NOW - 10), scope)).toBeNull();
    expect(matchRecord({ key: Buffer.from('acct_a'), value: Buffer.from('{not json'), timestamp: NOW - 10 }, scope)).toBeNull();
  });
});

describe('ids and jobs', () => {
  it('recovery ids are rec_ ids, each new', () => {
    const a = newRecoveryId();
    expect(a).toMatch(/^rec_[0-9a-z]{26}$/);
    expect(newRecoveryId()).not.toBe(a);
  });

  it('a replayed delivery id is deterministic per (event, webhook, recovery) and differs from other recoveries', () => {
    expect(recoveryDeliveryId('evt_1', 'wh_1', 'rec_1')).toBe(recoveryDeliveryId('evt_1', 'wh_1', 'rec_1'));
    expect(recoveryDeliveryId('evt_1', 'wh_1', 'rec_1')).not.toBe(recoveryDeliveryId('evt_1', 'wh_1', 'rec_2'));
    expect(recoveryDeliveryId('evt_1', 'wh_1', 'rec_1')).toMatch(/^dlv_/);
  });

  it('builds attempt 1 with the original event id and the seed body', () => {
    const job = recoveryJob(event(), { id: 'wh_1', url: 'https://x.test/h', secretEncrypted: 'sealed' }, 'rec_1', NOW);
    expect(job).toMatchObject({ event_id: 'evt_1', subscription_id: 'wh_1', attempt: 1, due_at: NOW, url: 'https://x.test/h', secret_encrypted: 'sealed', previous_attempts: [] });
    expect(job.manual).toBeUndefined();
    expect(job.delivery_id).toBe(recoveryDeliveryId('evt_1', 'wh_1', 'rec_1'));
    expect(JSON.parse(job.body)).toEqual({ event: 'call.started', timestamp: '2026-11-30T10:00:00Z', data: { call_id: 'c1' } });
  });

  it('topicsFor maps types to their event topics once', () => {
    expect(topicsFor(['call.started', 'call.started', 'appointment.created'])).toEqual(['events.call.started', 'events.appointment.created']);
  });
});

describe('pacing', () => {
  it('waits until the sent jobs fit the rate, never when behind', () => {
    expect(paceDelay(200, 1_000, 1_000, 500)).toBe(400);
    expect(paceDelay(200, 1_000, 1_300, 500)).toBe(100);
    expect(paceDelay(200, 1_000, 2_000, 500)).toBe(0);
  });

  it('chunks about a tenth of a second of jobs, at most 200', () => {
    expect(chunkSize(500)).toBe(50);
    expect(chunkSize(5_000)).toBe(200);
    expect(chunkSize(55)).toBe(6);
    expect(chunkSize(1)).toBe(1);
  });
});
