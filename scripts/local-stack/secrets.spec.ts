import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSecret, newEncryptionKey, newServiceToken } from './secrets.js';

describe('secrets kept in .local', () => {
  it('generates once (mode 600) and returns the same value afterwards', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'nested', 'secret.key');
    const first = loadOrCreateSecret(file, newEncryptionKey);
    expect(Buffer.from(first, 'base64')).toHaveLength(32);
    expect(loadOrCreateSecret(file, () => 'other')).toBe(first);
    expect(readFileSync(file, 'utf8')).toBe(first + '\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('replaces an empty file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'token');
    writeFileSync(file, '\n');
    expect(loadOrCreateSecret(file, () => 'fresh')).toBe('fresh');
  });

  it('makes distinct random values', () => {
    expect(newEncryptionKey()).not.toBe(newEncryptionKey());
    expect(newServiceToken()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});
