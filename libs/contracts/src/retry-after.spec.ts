import { describe, expect, it } from '@jest/globals';
import { parseRetryAfter, requestedRetryDelay, RETRY_AFTER_MAX_MS } from './retry-after.js';

const now = Date.parse('2024-01-15T10:30:00Z');

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
  });

  it('reads the three HTTP-date forms, relative to now', () => {
    expect(parseRetryAfter('Mon, 15 Jan 2024 10:30:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Monday, 15-Jan-24 10:31:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon Jan 15 10:30:10 2024', now)).toBe(10_000);
  });

  it('treats a date in the past as no wait', () => {
    expect(parseRetryAfter('Mon, 15 Jan 2024 10:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', now)).toBe(0);
  });

  it('caps huge values at 2 hours', () => {
    expect(parseRetryAfter('7201', now)).toBe(RETRY_AFTER_MAX_MS);
    expect(parseRetryAfter('999999999999', now)).toBe(RETRY_AFTER_MAX_MS);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(RETRY_AFTER_MAX_MS);
    expect(RETRY_AFTER_MAX_MS).toBe(7_200_000);
  });

  it.each([
    ['negative', '-5'],
    ['fractional', '1.5'],
    ['hex', '0x10'],
    ['exponent', '1e3'],
    ['garbage', 'soon'],
    ['empty', ''],
    ['blank', '   '],
    ['too many digits', '9'.repeat(13)],
    ['over-long', 'a'.repeat(65)],
    ['date without zone', '2024-01-15T10:30:03'],
    ['ISO date', '2024-01-15T10:30:03Z'],
    ['impossible date', 'Mon, 45 Foo 2024 99:99:99 GMT'],
    ['CRLF', '3\r\nX-Evil: 1'],
  ])('refuses %s', (_name, value) => {
    expect(parseRetryAfter(value, now)).toBeNull();
  });

  it('refuses absent values', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter([], now)).toBeNull();
  });
});

describe('requestedRetryDelay', () => {
  it('honours Retry-After only on 429 and 503', () => {
    expect(requestedRetryDelay(429, '3', now)).toBe(3000);
    expect(requestedRetryDelay(503, 'Mon, 15 Jan 2024 10:30:04 GMT', now)).toBe(4000);
    expect(requestedRetryDelay(500, '3', now)).toBeNull();
    expect(requestedRetryDelay(301, '3', now)).toBeNull();
    expect(requestedRetryDelay(null, '3', now)).toBeNull();
    expect(requestedRetryDelay(429, undefined, now)).toBeNull();
  });
});
