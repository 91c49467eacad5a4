import { describe, expect, it } from '@jest/globals';
import type { LogLevel } from '@nestjs/common';
import { AppLogger, prettyLine, redactSecrets, resolveLogFormat } from './app-logger.js';
import { extractFromHttpHeaders, startTracing, withLogIds, withSpan } from './tracing.js';

startTracing({ serviceName: 'logger-spec' });
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function capture(format: 'json' | 'pretty', levels?: LogLevel[]) {
  const lines: string[] = [];
  const logger = new AppLogger({ app: 'dispatcher', format, levels, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines };
}

describe('AppLogger (pino)', () => {
  it('writes one JSON object per line with level, time, app, context, msg, the current trace and the ids of the work', () => {
    const { logger, lines } = capture('json');
    logger.log('started', 'Main');
    const parent = withLogIds(extractFromHttpHeaders({ traceparent: TRACEPARENT }), { delivery_id: 'dlv_1', event_id: 'evt_1' });
    const spanId = withSpan('attempt', (span) => (logger.warn({ msg: 'slow receiver', webhook_id: 'wh_1', status: 503 }, 'Executor'), span.spanContext().spanId), { parent });
    logger.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'Runner');
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    const [first, second, third] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), app: 'dispatcher', context: 'Main', msg: 'started' });
    expect(second).toEqual({
      level: 'warn',
      time: expect.any(String),
      app: 'dispatcher',
      context: 'Executor',
      msg: 'slow receiver',
      webhook_id: 'wh_1',
      status: 503,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: spanId,
      delivery_id: 'dlv_1',
      event_id: 'evt_1',
    });
    expect(third).toMatchObject({ level: 'error', context: 'Runner', msg: 'boom', stack: 'Error: boom\n    at x (y.js:1:1)' });
  });

  it('writes readable lines under pretty, and honours the levels', () => {
    const { logger, lines } = capture('pretty', ['error', 'warn']);
    logger.log('hidden');
    logger.debug('hidden');
    withSpan('x', () => logger.warn('careful', 'Ctx'), { parent: extractFromHttpHeaders({ traceparent: TRACEPARENT }) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ WARN  \[dispatcher\] Ctx: careful trace=4bf92f35\n$/);
    expect(prettyLine('not json')).toBe('not json\n');
  });

  it('never writes secrets or API keys (pino redact for secret-named fields, patterns inside messages)', () => {
    const { logger, lines } = capture('json');
    const apiKey = 'odis_sk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
    logger.log(`created key ${apiKey} for secret whsec_c2VjcmV0LXNlY3JldA==`);
    logger.log({ msg: 'webhook', secret: 'plain-secret-value', nested: { api_key: 'k1', Authorization: 'Bearer abc' }, note: `key ${apiKey}` });
    logger.log('connect postgres://odis:hunter2@db:5432/odis with Authorization: Bearer tok.en');
    logger.error(new Error(`failed with secret=plain-secret-value`));
    const all = lines.join('');
    for (const s of [apiKey, 'c2VjcmV0LXNlY3JldA', 'plain-secret-value', '"k1"', 'hunter2', 'tok.en', 'Bearer abc']) expect(all).not.toContain(s);
    expect(all).toContain('odis_sk_[REDACTED]');
    expect(JSON.parse(lines[1]!)).toMatchObject({ secret: '[REDACTED]', nested: { api_key: '[REDACTED]', Authorization: '[REDACTED]' } });
  });

  it('redaction leaves ordinary text alone', () => {
    expect(redactSecrets('delivery dlv_1 to https://example.com/hook answered 500')).toBe('delivery dlv_1 to https://example.com/hook answered 500');
  });

  it('picks json under production when LOG_FORMAT=auto', () => {
    expect(resolveLogFormat('auto', 'production')).toBe('json');
    expect(resolveLogFormat('auto', 'development')).toBe('pretty');
    expect(resolveLogFormat('pretty', 'production')).toBe('pretty');
    expect(resolveLogFormat(undefined, undefined)).toBe('pretty');
  });
});
