import { describe, expect, it } from '@jest/globals';
import { storableText } from './text.js';

describe('storableText', () => {
  it('passes valid text through unchanged, including multi-byte characters and U+FFFD', () => {
    const text = 'OK ✓ — Grüße 🐶 \uFFFD';
    expect(storableText(text)).toBe(text);
    expect(storableText(Buffer.from(text))).toBe(text);
  });

  it('escapes NUL as \\u0000 in strings and bytes', () => {
    expect(storableText('a\0b')).toBe('a\\u0000b');
    expect(storableText(Buffer.from([0x61, 0x00, 0x62]))).toBe('a\\u0000b');
  });

  it('escapes each byte that is not valid UTF-8 as \\xNN and keeps the valid runs around it', () => {
    expect(storableText(Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x21]))).toBe('ok\\xff\\xfe!');
    expect(storableText(Buffer.from([0xc3]))).toBe('\\xc3'); // truncated sequence
    expect(storableText(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf'); // overlong
    expect(storableText(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // encoded surrogate
    expect(storableText(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe('\\xf4\\x90\\x80\\x80'); // above U+10FFFF
  });

  it('replaces lone UTF-16 surrogates, keeps pairs', () => {
    expect(storableText('a\uD800b\uDC00c')).toBe('a\uFFFDb\uFFFDc');
    expect(storableText('\uD83D\uDC36')).toBe('🐶');
  });
});
