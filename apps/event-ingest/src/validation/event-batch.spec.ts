import { describe, expect, it } from '@jest/globals';
import { isBatchBody, MAX_BATCH_EVENTS, splitEventBatch } from './event-batch.js';

const b = (s: string) => Buffer.from(s);
const parts = (s: string) => {
  const r = splitEventBatch(b(s));
  if (!r.ok) throw new Error(`${r.field}: ${r.message}`);
  return r.elements.map((e) => e.toString());
};
const failure = (s: string, max?: number) => {
  const r = splitEventBatch(b(s), max);
  if (r.ok) throw new Error(`accepted ${s}`);
  return [r.field, r.message];
};

describe('splitEventBatch', () => {
  it('tells the batch form from one event by the first non-whitespace byte', () => {
    expect(isBatchBody(b(' \n [{}]'))).toBe(true);
    expect(isBatchBody(b('{"a":[1]}'))).toBe(false);
    expect(isBatchBody(b(''))).toBe(false);
  });

  it('splits the elements in order, as views of their exact bytes, through strings, escapes and nesting', () => {
    const tricky = '{"a":"],[\\"}{,","b":[{"c":[]}],"d":"\\\\"}';
    expect(parts(` [ {"x":1} ,\n${tricky},{"é":"ü"}] `)).toEqual(['{"x":1}', tricky, '{"é":"ü"}']);
    for (const element of parts(`[${tricky},{"y":[1,{"z":2}]}]`)) expect(() => JSON.parse(element)).not.toThrow();
  });

  it('refuses an empty array and more than the limit, naming the body', () => {
    expect(failure('[]')).toEqual(['body', expect.stringContaining('empty array')]);
    expect(failure(' [ \n ] ')).toEqual(['body', expect.stringContaining('empty array')]);
    const many = `[${Array(MAX_BATCH_EVENTS + 1).fill('{}').join(',')}]`;
    expect(failure(many)).toEqual(['body', `more than ${MAX_BATCH_EVENTS} events in one request`]);
    expect(parts(`[${Array(MAX_BATCH_EVENTS).fill('{}').join(',')}]`)).toHaveLength(MAX_BATCH_EVENTS);
  });

  it('refuses an element that is not an object, naming its position', () => {
    expect(failure('[{},3]')).toEqual(['[1]', expect.stringContaining('expected an object')]);
    expect(failure('[{},{},"x"]')).toEqual(['[2]', expect.any(String)]);
    expect(failure('[[{}]]')).toEqual(['[0]', expect.any(String)]);
    expect(failure('[null]')).toEqual(['[0]', expect.any(String)]);
  });

  it('refuses a body that is not one well-formed array', () => {
    for (const bad of ['{}', '[{}', '[{},]', '[,{}]', '[{} {}]', '[{}]x', '[{}]]', '[{"a":"]}', '[{}}]']) {
      expect(failure(bad)[0]).toBe('body');
    }
  });

  it('leaves JSON errors inside an element to its own validation', () => {
    expect(parts('[{bad},{"ok":1}]')).toEqual(['{bad}', '{"ok":1}']);
  });
});
