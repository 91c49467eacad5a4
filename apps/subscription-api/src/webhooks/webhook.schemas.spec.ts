import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@odis/platform';
import { createWebhookBody, rotateSecretBody, updateWebhookBody } from './webhook.schemas.js';
import { ZodPipe } from './zod-body.pipe.js';

const pipe = new ZodPipe(rotateSecretBody);

function fieldOf(body: unknown): string | null | undefined {
  try {
    pipe.transform(body);
    return undefined;
  } catch (err) {
    return (err as ApiError).field;
  }
}

describe('rotate-secret body', () => {
  it('defaults to a generated secret and a 24h overlap', () => {
    expect(pipe.transform({})).toEqual({ overlap: 86_400_000 });
  });
  it.each([
    ['0s', 0],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('parses overlap %s', (overlap, ms) => {
    expect(pipe.transform({ overlap }).overlap).toBe(ms);
  });
  it.each(['8d', '169h', '1w', '1.5h', '-1h', '10', '', ' 1h', '500ms', 24])('refuses overlap %p with a 400 naming the field', (overlap) => {
    expect(fieldOf({ overlap })).toBe('overlap');
  });
  it('takes a secret with the rules of create', () => {
    expect(pipe.transform({ secret: 'a-very-secret-secret', overlap: '1h' })).toEqual({ secret: 'a-very-secret-secret', overlap: 3_600_000 });
    expect(fieldOf({ secret: 'short' })).toBe('secret');
    expect(fieldOf({ secret: 'has a space in it!!' })).toBe('secret');
    expect(fieldOf({ overlap: '1h', extra: true })).toBe('extra');
  });
});

describe('webhook headers (decision 0013)', () => {
  const create = new ZodPipe(createWebhookBody);
  const update = new ZodPipe(updateWebhookBody);
  const base = { url: 'https://clinic.example.com/hook', events: ['call.started'] };
  const refusal = (p: ZodPipe<unknown>, body: unknown): { field: string | null | undefined; message: string } | undefined => {
    try {
      p.transform(body);
      return undefined;
    } catch (err) {
      return { field: (err as ApiError).field, message: (err as ApiError).message };
    }
  };

  it('accepts up to 10 headers, Authorization included, on create and patch', () => {
    const headers = { Authorization: 'Bearer t0ken', 'X-Clinic': 'happy-paws' };
    expect(create.transform({ ...base, headers }).headers).toEqual(headers);
    expect(update.transform({ headers: {} }).headers).toEqual({});
  });

  it.each([
    ['X-ODIS-Signature', 'v', 'headers.X-ODIS-Signature'],
    ['webhook-id', 'v', 'headers.webhook-id'],
    ['Content-Type', 'text/plain', 'headers.Content-Type'],
    ['Host', 'evil.example', 'headers.Host'],
    ['Transfer-Encoding', 'chunked', 'headers.Transfer-Encoding'],
    ['X-Foo', 'a\r\nX-Injected: 1', 'headers.X-Foo'],
    ['X Foo', 'v', 'headers.X Foo'],
  ])('refuses %s: %p with a 400 naming %s', (name, value, field) => {
    expect(refusal(create, { ...base, headers: { [name]: value } })?.field).toBe(field);
    expect(refusal(update, { headers: { [name]: value } })?.field).toBe(field);
  });

  it('refuses too many headers and a non-object, naming headers', () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, 'v']));
    expect(refusal(create, { ...base, headers: eleven })).toEqual({ field: 'headers', message: expect.stringContaining('at most 10') });
    expect(refusal(create, { ...base, headers: ['X-Foo'] })?.field).toBe('headers');
    expect(refusal(create, { ...base, headers: 'X-Foo: 1' })?.field).toBe('headers');
  });
});

describe('rate_limit_per_second (decision 0013)', () => {
  const create = new ZodPipe(createWebhookBody);
  const update = new ZodPipe(updateWebhookBody);
  const base = { url: 'https://clinic.example.com/hook', events: ['call.started'] };
  const fieldOf_ = (p: ZodPipe<unknown>, body: unknown) => {
    try {
      p.transform(body);
      return undefined;
    } catch (err) {
      return (err as ApiError).field;
    }
  };

  it('takes 1..10,000 on create and patch; patch null removes it', () => {
    expect(create.transform({ ...base, rate_limit_per_second: 20 }).rate_limit_per_second).toBe(20);
    expect(create.transform({ ...base, rate_limit_per_second: 10_000 }).rate_limit_per_second).toBe(10_000);
    expect(update.transform({ rate_limit_per_second: null }).rate_limit_per_second).toBeNull();
  });

  it.each([0, -1, 1.5, 10_001, '20', true])('refuses %p with a 400 naming rate_limit_per_second', (value) => {
    expect(fieldOf_(create, { ...base, rate_limit_per_second: value })).toBe('rate_limit_per_second');
    expect(fieldOf_(update, { rate_limit_per_second: value })).toBe('rate_limit_per_second');
  });

  it('create does not take null', () => {
    expect(fieldOf_(create, { ...base, rate_limit_per_second: null })).toBe('rate_limit_per_second');
  });
});
