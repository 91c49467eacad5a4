/** Secrets generated once per checkout and kept in .local (so encrypted webhook secrets stay readable). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/** The trimmed content of `file`, or `generate()` written there (mode 600) when missing or empty. */
export function loadOrCreateSecret(file: string, generate: () => string): string {
  if (existsSync(file)) {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  }
  const value = generate();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

/** 32 random bytes, base64: the SECRET_ENCRYPTION_KEY format (AES-256 key). */
export const newEncryptionKey = (): string => randomBytes(32).toString('base64');
/** A bearer token for the ingest endpoint. */
export const newServiceToken = (): string => randomBytes(24).toString('base64url');
