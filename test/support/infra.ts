/** Small helpers for integration tests running against the infrastructure of test/support/global-setup.ts. */
import { randomBytes } from 'node:crypto';

/** The value of an env var global-setup exported (KAFKA_BROKERS, DATABASE_URL, SMTP_URL, MAIL_DIR), or throw. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run integration tests through jest's integration project (its globalSetup starts the infrastructure)`);
  }
  return value;
}

/** A topic name no other test (or earlier run) uses: `<prefix>.<time>-<random>`, legal for Kafka. */
export function uniqueTopic(prefix: string): string {
  const clean = prefix.replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 200);
  return `${clean}.${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Part of the timeout error. */
  message?: string;
}

/**
 * Poll `predicate` until it returns a truthy value (which is returned) or the timeout passes. Errors it
 * throws count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError ? `; last error: ${(lastError as Error).message ?? lastError}` : '';
      throw new Error(`waitFor timed out after ${timeoutMs} ms${options.message ? ` (${options.message})` : ''}${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
