import { describe, expect, it } from '@jest/globals';
import type { LogLevel } from '@nestjs/common';
import { JsonLogger, redactSecrets, redactValue, resolveLogFormat } from './json-logger.js';
import { parseTraceparent, runInTrace } from './trace-context.js';

const at = new Date('2026-01-02T03:04:05.000Z');
function capture(format: 'json' | 'pretty', levels?: LogLevel[]) {
  const lines: Array<{ line: string; level: LogLevel }> = [];
  const logger = new JsonLogger({ app: 'dispatcher', format, levels, now: () => at, write: (line, level) => lines.push({ line, level }) });
  return { logger, lines };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with level, app, context, message and the current trace and ids', () => {
    const { logger, lines } = capture('json');
    logger.log('started', 'Main');
    const ctx = { ...parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')!, name: 'attempt', ids: { delivery_id: 'dlv_1', event_id: 'evt_1' } };
    runInTrace(ctx, () => logger.warn({ msg: 'slow receiver', webhook_id: 'wh_1', status: 503 }, 'Executor'));
    logger.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'Runner');
    expect(JSON.parse(lines[0]!.line)).toEqual({ time: at.toISOString(), level: 'log', app: 'dispatcher', context: 'Main', msg: 'started' });
    expect(JSON.parse(lines[1]!.line)).toEqual({
      time: at.toISOString(),
      level: 'warn',
      app: 'dispatcher',
      context: 'Executor',
      msg: 'slow receiver',
      webhook_id: 'wh_1',
      status: 503,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      span: 'attempt',
      delivery_id: 'dlv_1',
      event_id: 'evt_1',
    });
    expect(JSON.parse(lines[2]!.line)).toMatchObject({ level: 'error', context: 'Runner', msg: 'boom', stack: 'Error: boom\n    at x (y.js:1:1)' });
    expect(lines[2]!.level).toBe('error');
  });

  it('writes readable lines under pretty, and honours the levels', () => {
    const { logger, lines } = capture('pretty', ['error', 'warn']);
    logger.log('hidden');
    logger.debug('hidden');
    runInTrace(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')!, () => logger.warn('careful', 'Ctx'));
    expect(lines.map((l) => l.line)).toEqual([`${at.toISOString()} WARN  [dispatcher] Ctx: careful trace=4bf92f35`]);
  });

  it('never writes secrets or API keys', () => {
    const { logger, lines } = capture('json');
    const apiKey = 'odis_sk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
    logger.log(`created key ${apiKey} for secret whsec_c2VjcmV0LXNlY3JldA==`);
    logger.log({ msg: 'webhook', secret: 'plain-secret-value', nested: { api_key: 'k1', Authorization: 'Bearer abc' } });
    logger.log('connect postgres://odis:hunter2@db:5432/odis with Authorization: Bearer tok.en');
    logger.error(new Error(`failed with secret=plain-secret-value`));
    const all = lines.map((l) => l.line).join('\n');
    for (const s of [apiKey, 'c2VjcmV0LXNlY3JldA', 'plain-secret-value', 'k1"', 'hunter2', 'tok.en', 'Bearer abc']) expect(all).not.toContain(s);
    expect(all).toContain('odis_sk_[REDACTED]');
  });

  it('redaction leaves ordinary text alone', () => {
    expect(redactSecrets('delivery dlv_1 to https://example.com/hook answered 500')).toBe('delivery dlv_1 to https://example.com/hook answered 500');
    expect(redactValue({ a: 1, list: ['x'], password: 'p' })).toEqual({ a: 1, list: ['x'], password: '[REDACTED]' });
  });

  it('picks json under production when LOG_FORMAT=auto', () => {
    expect(resolveLogFormat('auto', 'production')).toBe('json');
    expect(resolveLogFormat('auto', 'development')).toBe('pretty');
    expect(resolveLogFormat('pretty', 'production')).toBe('pretty');
    expect(resolveLogFormat(undefined, undefined)).toBe('pretty');
  });
});
