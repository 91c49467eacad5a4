import { describe, expect, it } from '@jest/globals';
import { CUSTOM_HEADER_LIMITS, customHeadersProblem } from './custom-headers.js';

describe('customHeadersProblem', () => {
  it('accepts ordinary headers, Authorization included', () => {
    expect(customHeadersProblem({})).toBeNull();
    expect(customHeadersProblem({ Authorization: 'Bearer abc.def', 'X-Clinic': 'happy-paws', 'X-Tab': 'a\tb', Cookie: 'k=v' })).toBeNull();
  });

  it.each([
    ['X-ODIS-Signature'],
    ['x-odis-anything'],
    ['Webhook-Id'],
    ['webhook-whatever'],
    ['Content-Type'],
    ['content-length'],
    ['HOST'],
    ['Connection'],
    ['Transfer-Encoding'],
    ['Upgrade'],
    ['TE'],
    ['Trailer'],
    ['Keep-Alive'],
    ['Proxy-Authorization'],
    ['User-Agent'],
  ])('refuses the reserved name %s, naming it', (name) => {
    expect(customHeadersProblem({ [name]: 'x' })).toEqual({ name, message: expect.stringContaining('reserved') });
  });

  it.each([
    ['a space', 'X Foo'],
    ['a colon', 'X-Foo:'],
    ['CR/LF', 'X-Foo\r\nX-Evil'],
    ['NUL', 'X-\u0000'],
    ['non-ASCII', 'X-Grüße'],
    ['empty', ''],
    ['over-long', 'X'.repeat(CUSTOM_HEADER_LIMITS.maxNameLength + 1)],
  ])('refuses a name with %s', (_what, name) => {
    expect(customHeadersProblem({ [name]: 'x' })).toMatchObject({ name });
  });

  it.each([
    ['CR/LF (header injection)', 'v\r\nX-Evil: 1'],
    ['LF', 'v\nx'],
    ['NUL', 'v\u0000'],
    ['another control', 'v\u0007'],
    ['non-ASCII', 'café'],
    ['surrounding whitespace', ' v '],
    ['over-long', 'v'.repeat(CUSTOM_HEADER_LIMITS.maxValueLength + 1)],
    ['a number', 5],
    ['null', null],
    ['an object', { a: 1 }],
  ])('refuses a value with %s, naming the header', (_what, value) => {
    expect(customHeadersProblem({ 'X-Foo': value })).toMatchObject({ name: 'X-Foo' });
  });

  it('refuses more than 10, duplicates differing in case, and too much in total', () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, 'v']));
    expect(customHeadersProblem(eleven)).toEqual({ name: null, message: 'must hold at most 10 headers' });
    expect(customHeadersProblem({ 'X-Foo': 'a', 'x-foo': 'b' })).toMatchObject({ name: 'x-foo' });
    const big = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`X-H${i}`, 'v'.repeat(1000)]));
    expect(customHeadersProblem(big)).toMatchObject({ name: null, message: expect.stringContaining('4096') });
  });
});
