import { describe, expect, it } from '@jest/globals';
import { eventIdFor, LIMITS, SEED_EXAMPLES, serializeWebhookPayload, validatedEventMessage, type EventType } from '@odis/contracts';
import { describeValidationError, EventValidator } from './event-validator.js';

const validator = new EventValidator(256 * 1024);
const receivedAt = new Date('2024-01-15T10:30:01Z');
const ctx = { rawPosition: '3:42', receivedAt };
const raw = (type: EventType, extra: Record<string, unknown> = {}) => ({ ...SEED_EXAMPLES[type], account_id: 'acct_clinic1', ...extra });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('EventValidator', () => {
  it.each(Object.keys(SEED_EXAMPLES) as EventType[])('accepts the seed sample of %s unchanged', (type) => {
    const result = validator.validate(json(raw(type)), ctx);
    if (!result.ok) throw new Error(describeValidationError(result.error));
    expect(result.topic).toBe(`events.${type}`);
    expect(result.droppedFields).toEqual([]);
    expect(validatedEventMessage.parse(result.event)).toEqual(result.event);
    expect(result.event).toMatchObject({ v: 1, account_id: 'acct_clinic1', event: type, timestamp: SEED_EXAMPLES[type].timestamp, received_at: '2024-01-15T10:30:01.000Z' });
    // What the dispatcher will serialise is the page's sample, byte for byte.
    expect(serializeWebhookPayload({ event: type, timestamp: result.event.timestamp, data: result.event.data as never })).toBe(serializeWebhookPayload(SEED_EXAMPLES[type]));
  });

  it("uses the producer's id (scoped to the account) as event id, else the raw position", () => {
    const withId = validator.validate(json(raw('call.started', { id: 'telephony-123' })), ctx);
    const again = validator.validate(json(raw('call.started', { id: 'telephony-123' })), { rawPosition: '5:900', receivedAt });
    const noId = validator.validate(json(raw('call.started')), ctx);
    expect(withId.ok && withId.event.event_id).toBe(eventIdFor({ accountId: 'acct_clinic1', producerId: 'telephony-123', rawPosition: '3:42' }));
    expect(again.ok && again.event.event_id).toBe(withId.ok && withId.event.event_id);
    expect(noId.ok && noId.event.event_id).toBe(eventIdFor({ accountId: 'acct_clinic1', rawPosition: '3:42' }));
    const http = validator.validate(json(raw('call.started')), { receivedAt });
    expect(http.ok && http.event.event_id).toMatch(/^evt_[0-9a-z]{26}$/);
  });

  it('drops fields outside the contract, at every level, and reports them', () => {
    const input = raw('call.ended', { internal_trace: 'x', data: { ...SEED_EXAMPLES['call.ended'].data, cost_cents: 12, actions: [{ type: 'appointment_scheduled', details: { date: '2024-01-20', time: '14:00', type: 'wellness_exam', room: 'B' }, agent_note: 'x' }] } });
    const result = validator.validate(json(input), ctx);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.droppedFields.sort()).toEqual(['data.actions.0.agent_note', 'data.actions.0.details.room', 'data.cost_cents', 'internal_trace']);
    expect(result.event.data).toEqual(SEED_EXAMPLES['call.ended'].data);
    expect(JSON.stringify(result.event)).not.toMatch(/internal_trace|cost_cents|room|agent_note/);
  });

  it('rejects each kind of bad input with a code, the field and a message', () => {
    const cases: Array<[Buffer | string | null, string, string | null, RegExp]> = [
      [null, 'not_json', null, /empty/],
      ['{"event": ', 'not_json', null, /not JSON/],
      ['[1,2]', 'invalid_envelope', null, /expected object/i],
      [json({ ...raw('call.started'), timestamp: 'yesterday' }), 'invalid_envelope', 'timestamp', /timestamp/],
      [json({ ...raw('call.started'), account_id: undefined }), 'invalid_envelope', 'account_id', /account_id/],
      [json({ ...raw('call.started'), data: 'nope' }), 'invalid_envelope', 'data', /data/],
      [json(raw('call.started', { event: 'call.transferred' })), 'unknown_event_type', 'event', /unknown event type "call.transferred"/],
      [json(raw('call.started', { data: { ...SEED_EXAMPLES['call.started'].data, from: '555-1234' } })), 'invalid_data', 'data.from', /data\.from/],
      [json(raw('call.ended', { data: { ...SEED_EXAMPLES['call.ended'].data, status: 'exploded' } })), 'invalid_data', 'data.status', /data\.status/],
      [json(raw('appointment.created', { data: { ...SEED_EXAMPLES['appointment.created'].data, time: '25:00' } })), 'invalid_data', 'data.time', /HH:MM/],
      [json(raw('call.started', { data: {} })), 'invalid_data', 'data.call_id', /data\.call_id/],
    ];
    for (const [input, code, field, message] of cases) {
      const result = validator.validate(input, ctx);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect([result.error.code, result.error.field]).toEqual([code, field]);
        expect(result.error.message).toMatch(message);
        expect(describeValidationError(result.error)).toMatch(new RegExp(`^${code}: `));
      }
    }
  });

  it('rejects an event over the size limit before parsing it', () => {
    const small = new EventValidator(1024);
    const big = json(raw('call.ended', { data: { ...SEED_EXAMPLES['call.ended'].data, transcript: 'a'.repeat(2000) } }));
    const result = small.validate(big, ctx);
    expect(result).toEqual({ ok: false, error: { code: 'too_large', field: null, message: `event is ${big.length} bytes, more than the limit of 1024` } });
  });

  describe('limits (decision 0006)', () => {
    const ended = SEED_EXAMPLES['call.ended'].data;
    const withDetails = (details: unknown) => raw('call.ended', { data: { ...ended, actions: [{ type: 'follow_up_requested', details }] } });
    const deepText = (levels: number) => '{"k":'.repeat(levels) + '1' + '}'.repeat(levels);

    it('refuses an event nested 4,000 levels deep before parsing it, without throwing', () => {
      const text = JSON.stringify(raw('call.ended', { data: { ...ended, actions: [{ type: 'note', details: '@' }] } })).replace('"@"', deepText(4_000));
      const result = validator.validate(Buffer.from(text), ctx);
      expect(result).toEqual({ ok: false, error: { code: 'too_deep', field: null, message: expect.stringContaining(`limit ${LIMITS.jsonDepth}`) } });
    });

    it('allows free-form details up to the depth limit and names the path one level beyond', () => {
      let details: unknown = 1;
      for (let i = 0; i < LIMITS.freeFormDepth - 1; i++) details = { k: details };
      expect(validator.validate(json(withDetails({ top: details })), ctx).ok).toBe(true);
      const result = validator.validate(json(withDetails({ top: { k: details } })), ctx);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('invalid_data');
      expect(result.error.field).toBe(`data.actions.0.details.top.${Array(LIMITS.freeFormDepth - 1).fill('k').join('.')}`);
      expect(result.error.message).toContain(`limit ${LIMITS.freeFormDepth}`);
    });

    it('refuses long strings and long arrays inside details, naming the field', () => {
      const long = validator.validate(json(withDetails({ note: 'x'.repeat(LIMITS.freeFormStringLength + 1) })), ctx);
      expect(!long.ok && long.error).toMatchObject({ code: 'invalid_data', field: 'data.actions.0.details.note' });
      const wide = validator.validate(json(withDetails({ list: Array(LIMITS.freeFormEntries + 1).fill(1) })), ctx);
      expect(!wide.ok && wide.error).toMatchObject({ code: 'invalid_data', field: 'data.actions.0.details.list' });
    });

    it('refuses an event whose signed body would pass the byte cap, though the raw event fits', () => {
      // 200,000 quote characters: 200 KB raw, but each becomes \" in the body: 400 KB > 256 KiB.
      const big = new EventValidator(1024 * 1024).validate(json(raw('call.ended', { data: { ...ended, transcript: '"'.repeat(199_000) } })), ctx);
      expect(!big.ok && big.error).toMatchObject({ code: 'body_too_large', field: 'data', message: expect.stringContaining(`limit of ${LIMITS.webhookBodyBytes}`) });
    });
  });
});
