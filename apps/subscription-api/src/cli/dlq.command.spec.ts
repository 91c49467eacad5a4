import { describe, expect, it } from '@jest/globals';
import type { InboundMessage } from '@odis/messaging';
import { formatList, formatShow, parseDlqArgs, printableBytes, replayRecord, safeText, summarize } from './dlq.command.js';

const deadLetter = (over: Partial<InboundMessage> = {}): InboundMessage => ({
  topic: 'telephony.events.dlq',
  partition: 0,
  offset: '7',
  key: Buffer.from('acct_1'),
  value: Buffer.from('{"event":"call.started","data":1}'),
  headers: {
    'odis-event-id': 'evt_1',
    'odis-dlq-reason': 'data.call_id: required',
    'odis-dlq-source-topic': 'telephony.events.raw',
    'odis-dlq-source-partition': '2',
    'odis-dlq-source-offset': '41',
    'odis-dlq-failed-at': '2026-01-02T03:04:05.000Z',
  },
  timestamp: Date.parse('2026-01-02T03:04:06.000Z'),
  ...over,
});

describe('parseDlqArgs', () => {
  it('parses list, show and replay with their options and defaults', () => {
    expect(parseDlqArgs(['list', '--topic', 'webhooks.dlq'])).toEqual({ action: 'list', topic: 'webhooks.dlq', limit: 50, json: false });
    expect(parseDlqArgs(['list', '--topic', 'webhooks.dlq', '--limit', '5', '--json'])).toMatchObject({ limit: 5, json: true });
    expect(parseDlqArgs(['show', '--topic', 'webhooks.dlq', '--offset', '12'])).toEqual({ action: 'show', topic: 'webhooks.dlq', partition: 0, offset: '12', json: false });
    expect(parseDlqArgs(['replay', '--topic', 't.dlq', '--offset', '9007199254740993', '--partition', '1'])).toMatchObject({ offset: '9007199254740993', partition: 1, all: false, dryRun: false });
    expect(parseDlqArgs(['replay', '--topic', 't.dlq', '--all', '--dry-run'])).toMatchObject({ offset: null, all: true, dryRun: true });
  });

  it('refuses what is missing, ambiguous or unknown, saying which', () => {
    const error = (args: string[]) => {
      try {
        parseDlqArgs(args);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(error([])).toMatch(/needs an action/);
    expect(error(['purge', '--topic', 'x'])).toMatch(/unknown dlq action "purge"/);
    expect(error(['list'])).toMatch(/--topic is required/);
    expect(error(['list', '--topic'])).toMatch(/--topic needs a value/);
    expect(error(['list', '--topic', 'a b'])).toMatch(/not a Kafka topic name/);
    expect(error(['list', '--topic', 'x', '--limit', '0'])).toMatch(/--limit must be at least 1/);
    expect(error(['list', '--topic', 'x', '--limit', '-3'])).toMatch(/--limit needs a value|--limit must be/);
    expect(error(['list', '--topic', 'x', '--offset', '3'])).toMatch(/--offset does not apply to dlq list/);
    expect(error(['show', '--topic', 'x'])).toMatch(/--offset is required/);
    expect(error(['show', '--topic', 'x', '--offset', '1e3'])).toMatch(/--offset must be a non-negative integer/);
    expect(error(['replay', '--topic', 'x'])).toMatch(/exactly one of --offset <n> and --all/);
    expect(error(['replay', '--topic', 'x', '--all', '--offset', '3'])).toMatch(/exactly one of/);
    expect(error(['replay', '--topic', 'x', '--all', '--partition', '1'])).toMatch(/--partition goes with --offset/);
    expect(error(['replay', '--topic', 'x', '--all', '--force'])).toMatch(/unknown option --force/);
    expect(error(['replay', '--topic', 'x', 'extra'])).toMatch(/unexpected argument "extra"/);
  });
});

describe('printing dead letters', () => {
  it('summarizes offset, time, reason, original topic, key and event id', () => {
    expect(summarize(deadLetter())).toEqual({
      partition: 0,
      offset: '7',
      time: '2026-01-02T03:04:05.000Z',
      reason: 'data.call_id: required',
      sourceTopic: 'telephony.events.raw',
      sourcePartition: 2,
      sourceOffset: '41',
      key: 'acct_1',
      eventId: 'evt_1',
    });
    const [head, line] = formatList('telephony.events.dlq', [summarize(deadLetter())], 3);
    expect(head).toBe('telephony.events.dlq: 3 dead letter(s), the last 1 shown');
    expect(line).toBe('0@7  2026-01-02T03:04:05.000Z  from telephony.events.raw[2]@41  key=acct_1  event=evt_1  reason: data.call_id: required');
  });

  it('never prints terminal control sequences or bidi overrides from a record', () => {
    const hostile = '\u001b]0;owned\u0007\u001b[2J\u202eevil\u0000';
    expect(safeText(hostile)).toBe('\\u001b]0;owned\\u0007\\u001b[2J\\u202eevil\\u0000');
    expect(safeText('x'.repeat(20), 5)).toBe('xxxxx… (15 more characters)');
    const lines = formatShow(deadLetter({ key: Buffer.from(hostile), value: Buffer.from(hostile), headers: { ...deadLetter().headers, 'odis-dlq-reason': hostile, [hostile]: hostile } })).join('\n');
    expect(lines).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(lines).toContain('\\u001b[2J');
  });

  it('pretty-prints JSON values and shows binary ones as base64', () => {
    expect(printableBytes(Buffer.from('{"a":[1]}'))).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(printableBytes(Buffer.from([0xff, 0xfe, 0x00]))).toBe('(binary, 3 bytes, base64) //4A');
    expect(printableBytes(null)).toBe('(null)');
  });
});

describe('replayRecord', () => {
  it('is the original key, value and headers (same event id) for the original topic, without the dlq headers', () => {
    const m = deadLetter();
    expect(replayRecord(m)).toEqual({ topic: 'telephony.events.raw', message: { key: m.key, value: m.value, headers: { 'odis-event-id': 'evt_1' } } });
  });

  it('refuses a record without a source topic', () => {
    expect(() => replayRecord(deadLetter({ headers: { 'odis-dlq-reason': 'x' } }))).toThrow(/no odis-dlq-source-topic header/);
  });
});
