/**
 * Text that Postgres can store and a person can read, from bytes or strings we do not control
 * (receivers' responses, error messages): NUL becomes the six characters `\u0000`, a byte that is
 * not part of valid UTF-8 becomes `\xNN`, a lone UTF-16 surrogate becomes U+FFFD. Valid text
 * (including U+FFFD itself) passes unchanged.
 */
export function storableText(input: Buffer | string): string {
  if (typeof input === 'string') {
    const wellFormed = input.replace(LONE_SURROGATE, '\uFFFD');
    return wellFormed.includes('\0') ? wellFormed.replaceAll('\0', '\\u0000') : wellFormed;
  }
  let out = '';
  let start = 0; // start of the current run of valid bytes
  const flush = (end: number) => {
    if (end > start) out += input.toString('utf8', start, end);
  };
  for (let i = 0; i < input.length; ) {
    const b = input[i];
    if (b === 0) {
      flush(i);
      out += '\\u0000';
      start = ++i;
      continue;
    }
    const n = utf8SequenceLength(input, i);
    if (n === 0) {
      flush(i);
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      start = ++i;
      continue;
    }
    i += n;
  }
  flush(input.length);
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Length of the valid UTF-8 sequence starting at `i` (1-4), or 0 when the bytes there are not one. */
function utf8SequenceLength(buf: Buffer, i: number): number {
  const b0 = buf[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number) => i + k < buf.length && (buf[i + k] & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const b1 = buf[i + 1];
    if (b0 === 0xe0 && b1 < 0xa0) return 0; // overlong
    if (b0 === 0xed && b1 >= 0xa0) return 0; // surrogates
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const b1 = buf[i + 1];
    if (b0 === 0xf0 && b1 < 0x90) return 0; // overlong
    if (b0 === 0xf4 && b1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}
