import { describe, expect, it } from '@jest/globals';
import { SEED_EXAMPLES, type ValidatedEventMessage } from '@odis/contracts';
import { EventValidator } from '../validation/event-validator.js';
import { HttpIngest } from './http-ingest.js';
import { IngestStats } from './ingest-stats.js';

const event = (callId: string, extra: Record<string, unknown> = {}) => ({
  ...SEED_EXAMPLES['call.started'],
  account_id: 'acct_clinic1',
  id: callId,
  data: { ...SEED_EXAMPLES['call.started'].data, call_id: callId },
  ...extra,
});
const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

/** An ingest whose publish is decided per call id: 'fail' rejects, 'hang' never settles. */
function setup(timeoutMs = 1_000) {
  const published: ValidatedEventMessage[] = [];
  const stats = new IngestStats();
  const publish = (e: ValidatedEventMessage) => {
    const callId = (e.data as { call_id: string }).call_id;
    if (callId.includes('fail')) return Promise.reject(new Error('broker away'));
    if (callId.includes('hang')) return new Promise<void>(() => undefined);
    published.push(e);
    return Promise.resolve();
  };
  return { ingest: new HttpIngest(new EventValidator(2_048), publish, stats, timeoutMs), published, stats };
}

describe('HttpIngest', () => {
  it('one event: 202 once published, 400/413 naming the field, 503 with a retry hint', async () => {
    const { ingest, published, stats } = setup(50);
    expect(await ingest.handle(body(event('call_1')))).toEqual({ status: 202, body: { event_id: published[0].event_id, event: 'call.started', topic: 'events.call.started', dropped_fields: [] } });
    expect(await ingest.handle(body(event('call_2', { data: { call_id: 'x' } })))).toMatchObject({ status: 400, body: { error: { code: 'invalid_data', field: 'data.call_id' } } });
    expect(await ingest.handle(body(event('call_3', { pad: 'x'.repeat(3_000) })))).toMatchObject({ status: 413, body: { error: { code: 'too_large' } } });
    expect(await ingest.handle(Buffer.alloc(0))).toMatchObject({ status: 400, body: { error: { code: 'not_json', field: null } } });
    expect(await ingest.handle(body(event('call_fail')))).toEqual({ status: 503, headers: { 'Retry-After': '1' }, body: { error: { code: 'unavailable', field: null, message: expect.stringMatching(/not stored: broker away; retry/) } } });
    expect(await ingest.handle(body(event('call_hang')))).toMatchObject({ status: 503, body: { error: { message: expect.stringContaining('did not acknowledge in time') } } });
    expect(published).toHaveLength(1);
    expect(stats.acceptedBySource.http).toBe(1);
  });

  it('batch: 202 with every result in order when all are accepted', async () => {
    const { ingest, published } = setup();
    const reply = await ingest.handle(body([event('call_a'), event('call_b', { extra: 1 }), event('call_c')]));
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({
      object: 'list',
      accepted: 3,
      rejected: 0,
      data: published.map((e, i) => ({ status: 202, event_id: e.event_id, event: 'call.started', topic: 'events.call.started', dropped_fields: i === 1 ? ['extra'] : [] })),
    });
    expect(published.map((e) => (e.data as { call_id: string }).call_id)).toEqual(['call_a', 'call_b', 'call_c']);
  });

  it('batch: 200 with per-event errors naming `[i].field`; only the valid events are published', async () => {
    const { ingest, published, stats } = setup();
    const reply = await ingest.handle(body(`[${JSON.stringify(event('call_a'))}, {bad}, ${JSON.stringify(event('call_c', { event: 'call.exploded' }))}, ${JSON.stringify(event('call_d', { data: {} }))}, ${JSON.stringify(event('call_e', { pad: 'y'.repeat(3_000) }))}]`));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      object: 'list',
      accepted: 1,
      rejected: 4,
      data: [
        { status: 202, event_id: published[0].event_id },
        { status: 400, error: { code: 'not_json', field: '[1]', message: expect.stringMatching(/^\[1\]: not JSON/) } },
        { status: 400, error: { code: 'unknown_event_type', field: '[2].event' } },
        { status: 400, error: { code: 'invalid_data', field: '[3].data.call_id' } },
        { status: 413, error: { code: 'too_large', field: '[4]' } },
      ],
    });
    expect(published).toHaveLength(1);
    expect(stats.rejected).toMatchObject({ not_json: 1, unknown_event_type: 1, invalid_data: 1, too_large: 1 });
  });

  it('batch: events Kafka did not acknowledge are 503, never accepted; the answer carries a retry hint', async () => {
    const { ingest, published } = setup(50);
    const reply = await ingest.handle(body([event('call_a'), event('call_fail'), event('call_hang')]));
    expect(reply).toMatchObject({
      status: 200,
      headers: { 'Retry-After': '1' },
      body: { accepted: 1, rejected: 2, data: [{ status: 202 }, { status: 503, error: { code: 'unavailable' } }, { status: 503, error: { message: expect.stringContaining('in time') } }] },
    });
    expect(published).toHaveLength(1);
  });

  it('batch: a malformed array, an empty one, too many events or a non-object event is a 400 for the whole request', async () => {
    const { ingest, published, stats } = setup();
    const cases: Array<[string, string]> = [
      ['[]', 'body'],
      [JSON.stringify(Array.from({ length: 101 }, (_, i) => event(`call_${i}`))), 'body'],
      [JSON.stringify([event('call_a'), 3]), '[1]'],
      [`[${JSON.stringify(event('call_a'))}`, 'body'],
    ];
    for (const [text, field] of cases) {
      expect(await ingest.handle(body(text))).toEqual({ status: 400, body: { error: { code: 'invalid_batch', field, message: expect.stringContaining(`${field}: `) } } });
    }
    expect(published).toEqual([]);
    expect(stats.rejected.invalid_batch).toBe(cases.length);
  });
});
