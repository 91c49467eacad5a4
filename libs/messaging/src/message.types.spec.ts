import { describe, expect, it } from '@jest/globals';
import { KAFKA_HEADERS } from '@odis/contracts';
import { buildDeadLetterRecord, MAX_DLQ_REASON_LENGTH } from './dead-letter.js';
import { decodeHeaders, describeError, normalizeOutcome, Outcome, toInboundMessage } from './message.types.js';

describe('Outcome / normalizeOutcome', () => {
  it('builds the three outcomes', () => {
    expect(Outcome.done()).toEqual({ kind: 'done' });
    expect(Outcome.deadLetter('bad json')).toEqual({ kind: 'dead-letter', reason: 'bad json' });
    expect(Outcome.deferUntil(1234)).toEqual({ kind: 'defer', untilMs: 1234 });
  });

  it('treats nothing as done and garbage as a dead letter', () => {
    expect(normalizeOutcome(undefined)).toEqual({ kind: 'done' });
    expect(normalizeOutcome(null)).toEqual({ kind: 'done' });
    expect(normalizeOutcome({ kind: 'defer', untilMs: 5 })).toEqual({ kind: 'defer', untilMs: 5 });
    expect(normalizeOutcome({ kind: 'dead-letter', reason: '' })).toEqual({ kind: 'dead-letter', reason: 'dead-lettered by handler' });
    expect(normalizeOutcome({ kind: 'defer', untilMs: Number.NaN }).kind).toBe('dead-letter');
    expect(normalizeOutcome(42)).toEqual({ kind: 'dead-letter', reason: 'handler returned an invalid outcome: 42' });
    expect(normalizeOutcome({ kind: 'later' }).kind).toBe('dead-letter');
  });
});

describe('decodeHeaders / toInboundMessage', () => {
  it('decodes buffers, strings and repeated headers (last wins)', () => {
    expect(decodeHeaders({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('1'), Buffer.from('2')], d: undefined })).toEqual({ a: 'x', b: 'y', c: '2' });
    expect(decodeHeaders(undefined)).toEqual({});
  });

  it('maps a kafkajs message', () => {
    const m = toInboundMessage('t', 3, {
      key: Buffer.from('k'),
      value: null,
      offset: '17',
      timestamp: '1700000000000',
      attributes: 0,
      headers: { h: Buffer.from('v') },
    });
    expect(m).toEqual({ topic: 't', partition: 3, offset: '17', key: Buffer.from('k'), value: null, headers: { h: 'v' }, timestamp: 1_700_000_000_000 });
  });
});

describe('describeError', () => {
  it('reads Errors, strings and Nest RPC error objects', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('plain')).toBe('plain');
    expect(describeError({ status: 'error', message: 'Internal server error' })).toBe('Internal server error');
    expect(describeError({ x: 1 })).toBe('{"x":1}');
  });
});

describe('buildDeadLetterRecord', () => {
  const message = {
    topic: 'events.call.started',
    partition: 2,
    offset: '99',
    key: Buffer.from('acc-1'),
    value: Buffer.from('{"x":1}'),
    headers: { 'odis-event-id': 'e1' },
    timestamp: 1,
  };

  it('keeps key, value and headers and adds the dlq headers', () => {
    const at = new Date('2030-01-02T03:04:05.000Z');
    const r = buildDeadLetterRecord(message, 'schema mismatch', at);
    expect(r.key).toEqual(message.key);
    expect(r.value).toEqual(message.value);
    expect(r.headers).toEqual({
      'odis-event-id': 'e1',
      [KAFKA_HEADERS.dlqReason]: 'schema mismatch',
      [KAFKA_HEADERS.dlqSourceTopic]: 'events.call.started',
      [KAFKA_HEADERS.dlqSourcePartition]: '2',
      [KAFKA_HEADERS.dlqSourceOffset]: '99',
      [KAFKA_HEADERS.dlqFailedAt]: '2030-01-02T03:04:05.000Z',
    });
  });

  it('cuts very long reasons', () => {
    const r = buildDeadLetterRecord(message, 'x'.repeat(5_000));
    expect(r.headers![KAFKA_HEADERS.dlqReason].length).toBe(MAX_DLQ_REASON_LENGTH);
  });
});
