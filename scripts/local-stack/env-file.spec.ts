import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { formatEnvFile, formatEnvValue, parseEnvFile, readEnvFile, writeEnvFile } from './env-file.js';

describe('env files', () => {
  it('writes KEY=VALUE lines in the given order and leaves undefined entries out', () => {
    expect(formatEnvFile({ B: '2', A: 'postgres://postgres@127.0.0.1:5432/odis_webhooks', C: undefined })).toBe(
      'B=2\nA=postgres://postgres@127.0.0.1:5432/odis_webhooks\n',
    );
  });

  it('quotes only values a shell would misread, and round-trips them', () => {
    expect(formatEnvValue('abc+/=_-:')).toBe('abc+/=_-:');
    expect(formatEnvValue("it's a $HOME")).toBe(`'it'\\''s a $HOME'`);
    const entries = { KEY: "it's a $HOME", SPACE: 'a b', EMPTY: '', URL: 'smtp://127.0.0.1:2525' };
    expect(parseEnvFile(formatEnvFile(entries))).toEqual(entries);
  });

  it('produces a file a POSIX shell sources to the same values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envfile-'));
    const file = join(dir, 'stack.env');
    const entries = { A: "it's $x `y`", B: 'plain' };
    writeEnvFile(file, entries);
    const out = execFileSync('sh', ['-c', `set -a; . "${file}"; printf '%s\\n%s' "$A" "$B"`], { encoding: 'utf8' });
    expect(out).toBe("it's $x `y`\nplain");
    expect(readEnvFile(file)).toEqual(entries);
  });

  it('writes atomically (no temp file left) and privately (mode 600)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envfile-'));
    const file = join(dir, 'sub', 'stack.env');
    writeEnvFile(file, { A: '1' });
    writeEnvFile(file, { A: '2' });
    expect(readFileSync(file, 'utf8')).toBe('A=2\n');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['stack.env']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('rejects names and values that cannot be written safely', () => {
    expect(() => formatEnvFile({ 'BAD-NAME': 'x' })).toThrow(/invalid env name/);
    expect(() => formatEnvFile({ A: 'two\nlines' })).toThrow(/newlines/);
  });

  it('ignores comments and blank lines when parsing', () => {
    expect(parseEnvFile('# c\n\nA=1\nB="two words"\n')).toEqual({ A: '1', B: 'two words' });
  });
});
