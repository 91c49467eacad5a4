import { describe, expect, it } from '@jest/globals';
import { eventIdFor, SEED_EXAMPLES, type ValidatedEventMessage } from '@odis/contracts';
import type { InboundMessage } from '@odis/messaging';
import { EventValidator } from '../validation/event-validator.js';
import { IngestStats } from './ingest-stats.js';
import { RawEventHandler } from './raw-event.handler.js';

const msg = (value: string | null, offset = '7'): InboundMessage => ({
  topic: 'telephony.events.raw',
  partition: 2,
  offset,
  key: Buffer.from('acct_1'),
  value: value === null ? null : Buffer.from(value),
  headers: {},
  timestamp: 0,
});

function setup(publish: (e: ValidatedEventMessage) => Promise<unknown> = async () => undefined) {
  const published: ValidatedEventMessage[] = [];
  const stats = new IngestStats();
  const handler = new RawEventHandler(new EventValidator(1024), async (e) => {
    published.push(e);
    return publish(e);
  }, stats, () => new Date('2024-01-15T10:30:01Z'));
  return { handler, published, stats };
}

describe('RawEventHandler', () => {
  it('publishes a valid event with the raw position as event id, and counts dropped fields', async () => {
    const { handler, published, stats } = setup();
    const outcome = await handler.handle(msg(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: 'acct_1', secret_internal: 1 })));
    expect(outcome).toEqual({ kind: 'done' });
    expect(published[0].event_id).toBe(eventIdFor({ accountId: 'acct_1', rawPosition: '2:7' }));
    expect(stats.toJSON()).toMatchObject({ accepted: 1, dropped_fields: 1, dropped_by_field: { secret_internal: 1 } });
    expect(stats.prometheusSamples().odis_ingest_dropped_fields_total).toEqual([{ value: 1 }]);
  });

  it('dead-letters each invalid kind with its reason and publishes nothing', async () => {
    const { handler, published, stats } = setup();
    const outcomes = await Promise.all([
      handler.handle(msg(null)),
      handler.handle(msg('not json')),
      handler.handle(msg(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: 'acct_1', event: 'call.paused' }))),
      handler.handle(msg(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: 'acct_1', data: { call_id: 'x' } }))),
      handler.handle(msg(JSON.stringify({ event: 'call.started' }))),
      handler.handle(msg(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: 'acct_1', pad: 'x'.repeat(2000) }))),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(6).fill('dead-letter'));
    expect(outcomes.map((o) => (o.kind === 'dead-letter' ? o.reason.split(':')[0] : ''))).toEqual([
      'not_json',
      'not_json',
      'unknown_event_type',
      'invalid_data',
      'invalid_envelope',
      'too_large',
    ]);
    expect(published).toEqual([]);
    expect(stats.rejected).toEqual({ too_large: 1, too_deep: 0, not_json: 2, invalid_envelope: 1, unknown_event_type: 1, invalid_data: 1, body_too_large: 0, invalid_batch: 0 });
  });

  it('lets a failing publish throw (the runner retries it; a valid event is never dead-lettered)', async () => {
    const { handler } = setup(async () => {
      throw new Error('broker away');
    });
    await expect(handler.handle(msg(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: 'acct_1' })))).rejects.toThrow('broker away');
  });
});
