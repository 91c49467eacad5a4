import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@odis/platform';
import { rotateSecretBody } from './webhook.schemas.js';
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
