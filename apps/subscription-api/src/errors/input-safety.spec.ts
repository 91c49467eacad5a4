import { describe, expect, it } from '@jest/globals';
import { findInputProblem, IdParamPipe, MAX_INPUT_DEPTH, verifyUtf8 } from './input-safety.js';
import { ApiError } from '@odis/platform';

function deep(levels: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe('findInputProblem', () => {
  it('names the field holding a NUL', () => {
    expect(findInputProblem({ url: 'https://a.example/\u0000' }, '')).toEqual({ kind: 'nul', field: 'url' });
    expect(findInputProblem({ events: ['call.started', 'call.\u0000'] }, '')).toEqual({ kind: 'nul', field: 'events.1' });
    expect(findInputProblem({ description: 'ok', 'we\u0000ird': 1 }, '')).toEqual({ kind: 'nul', field: 'we\\u0000ird' });
    expect(findInputProblem({ before: '2026\u0000' }, '')).toEqual({ kind: 'nul', field: 'before' });
    expect(findInputProblem('\u0000', 'id')).toEqual({ kind: 'nul', field: 'id' });
    expect(findInputProblem('\u0000', '')).toEqual({ kind: 'nul', field: 'body' });
  });

  it('accepts ordinary input', () => {
    expect(findInputProblem({ url: 'https://a.example', events: ['call.started'], description: null }, '')).toBeNull();
    expect(findInputProblem(deep(MAX_INPUT_DEPTH), '')).toBeNull();
  });

  it('refuses nesting past the limit without recursion, even 100,000 levels deep', () => {
    expect(findInputProblem(deep(MAX_INPUT_DEPTH + 1), '')).toEqual({ kind: 'too_deep', field: expect.any(String) });
    expect(findInputProblem({ url: deep(100_000) }, '')?.kind).toBe('too_deep');
  });
});

describe('IdParamPipe', () => {
  const pipe = new IdParamPipe();
  const meta = { type: 'param' as const, data: 'id' };
  it('passes ids and refuses NUL and non-ids with a 400 naming the parameter', () => {
    expect(pipe.transform('wh_01HZX', meta)).toBe('wh_01HZX');
    for (const bad of ['wh_\u0000', 'a'.repeat(65), 'wh 1', '']) {
      try {
        pipe.transform(bad, meta);
        throw new Error('accepted');
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).status).toBe(400);
        expect((err as ApiError).field).toBe('id');
      }
    }
  });
});

describe('verifyUtf8', () => {
  it('accepts UTF-8 and refuses anything else with status 400', () => {
    const noop = undefined as never;
    expect(() => verifyUtf8(noop, noop, Buffer.from('{"a":"é✓"}'))).not.toThrow();
    expect(() => verifyUtf8(noop, noop, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => verifyUtf8(noop, noop, Buffer.from([0xed, 0xa0, 0x80]))).toThrow(); // a lone surrogate
  });
});
