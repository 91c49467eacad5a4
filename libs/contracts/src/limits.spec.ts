import { describe, expect, it } from '@jest/globals';
import { checkWebhookBodySize } from './events.js';
import { checkFreeForm, freeFormObject, LIMITS, parseBoundedJson, scanJsonDepth } from './limits.js';

const nested = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);

describe('scanJsonDepth', () => {
  it('measures nesting without parsing, ignoring brackets inside strings and escaped quotes', () => {
    expect(scanJsonDepth('1')).toEqual({ ok: true, depth: 0 });
    expect(scanJsonDepth('{"a":[1,{"b":[]}]}')).toEqual({ ok: true, depth: 4 });
    expect(scanJsonDepth('{"a":"[[[[{{{{\\"]]]]"}')).toEqual({ ok: true, depth: 1 });
    expect(scanJsonDepth(Buffer.from('[[["\\\\"],["{"]]]'))).toEqual({ ok: true, depth: 3 });
  });

  it('stops at the first level past the limit, also on a 50,000-deep document', () => {
    expect(scanJsonDepth(nested(8), 8)).toEqual({ ok: true, depth: 8 });
    expect(scanJsonDepth(nested(9), 8)).toEqual({ ok: false, depth: 9 });
    expect(scanJsonDepth('['.repeat(50_000) + ']'.repeat(50_000))).toEqual({ ok: false, depth: LIMITS.jsonDepth + 1 });
  });
});

describe('parseBoundedJson', () => {
  it('parses what fits, refuses what is too deep before parsing, and reports bad JSON', () => {
    expect(parseBoundedJson('{"a":[1]}')).toEqual({ ok: true, value: { a: [1] } });
    expect(parseBoundedJson(nested(4000))).toMatchObject({ ok: false, code: 'too_deep', reason: expect.stringContaining(`limit ${LIMITS.jsonDepth}`) });
    expect(parseBoundedJson('{"a":')).toMatchObject({ ok: false, code: 'not_json' });
  });
});

describe('checkFreeForm', () => {
  const deep = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = { k: v };
    return v;
  };

  it('accepts values within every limit', () => {
    expect(checkFreeForm(deep(LIMITS.freeFormDepth))).toBeNull();
    expect(checkFreeForm({ list: Array(LIMITS.freeFormEntries - 1).fill('x'), s: 'y'.repeat(LIMITS.freeFormStringLength), n: null, b: true })).toBeNull();
  });

  it('names the path and the limit of the first violation', () => {
    expect(checkFreeForm(deep(LIMITS.freeFormDepth + 1))).toEqual({
      path: Array(LIMITS.freeFormDepth).fill('k'),
      message: `nests deeper than ${LIMITS.freeFormDepth} levels (limit ${LIMITS.freeFormDepth})`,
    });
    expect(checkFreeForm({ a: { list: Array(LIMITS.freeFormEntries + 1).fill(0) } })).toMatchObject({ path: ['a', 'list'], message: expect.stringContaining('entries') });
    expect(checkFreeForm({ a: ['ok', 'z'.repeat(LIMITS.freeFormStringLength + 1)] })).toMatchObject({ path: ['a', 1], message: expect.stringContaining('longer than') });
    expect(checkFreeForm({ ['k'.repeat(LIMITS.freeFormKeyLength + 1)]: 1 })).toMatchObject({ message: expect.stringContaining('key is longer') });
    expect(checkFreeForm({ a: Number.POSITIVE_INFINITY })).toEqual({ path: ['a'], message: 'must be a finite number' });
  });

  it('bounds the total number of values, so wide and deep together stay cheap', () => {
    const wide = { a: Array.from({ length: 90 }, () => Array(90).fill(1)) };
    expect(checkFreeForm(wide)).toMatchObject({ message: expect.stringContaining(`more than ${LIMITS.freeFormNodes} values`) });
  });

  it('as a zod schema reports the offending path', () => {
    const parsed = freeFormObject().safeParse({ room: deep(LIMITS.freeFormDepth) });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0].path).toEqual(['room', ...Array(LIMITS.freeFormDepth - 1).fill('k')]);
  });
});

describe('checkWebhookBodySize', () => {
  it('allows a body up to the cap, counted in UTF-8 bytes, and names both figures above it', () => {
    expect(checkWebhookBodySize('x'.repeat(LIMITS.webhookBodyBytes))).toBeNull();
    expect(checkWebhookBodySize('x'.repeat(LIMITS.webhookBodyBytes + 1))).toBe(
      `webhook body is ${LIMITS.webhookBodyBytes + 1} bytes, more than the limit of ${LIMITS.webhookBodyBytes}`,
    );
    // 100,000 three-byte characters: 100 K UTF-16 units but 300 K bytes.
    expect(checkWebhookBodySize('€'.repeat(100_000))).toMatch(/^webhook body is 300000 bytes/);
  });
});
