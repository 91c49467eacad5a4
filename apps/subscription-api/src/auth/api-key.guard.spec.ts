import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AccountDirectory, hashApiKey } from '@odis/subscriptions';
import { AuthThrottle } from './auth-throttle.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiError } from '@odis/platform';

const newKey = () => `odis_sk_${randomBytes(32).toString('base64url')}`;

/**
 * An AccountDirectory over a stub DataSource that knows one key and counts its lookups. The buckets
 * run on a frozen clock: no token refills while a test loops, however slow the machine.
 */
function setup(validKey: string) {
  let queries = 0;
  const repo = {
    findOne: async ({ where }: { where: { keyHash: string } }) => {
      queries++;
      return where.keyHash === hashApiKey(validKey) ? { id: 'key_1', accountId: 'acct_1', revokedAt: null } : null;
    },
    update: async () => ({ affected: 1 }),
  };
  const directory = new AccountDirectory({ getRepository: () => repo } as unknown as DataSource);
  const throttle = AuthThrottle.fromConfig({
    API_RATE_LIMIT_PER_SECOND: 50,
    API_RATE_LIMIT_BURST: 100,
    API_AUTH_LOOKUPS_PER_SECOND: 2,
    API_AUTH_LOOKUPS_BURST: 20,
    API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: 50,
  }, () => 1_700_000_000_000);
  const guard = new ApiKeyGuard(directory, throttle);
  const call = async (key: string | undefined, ip = '203.0.113.9'): Promise<number> => {
    const req = { headers: key === undefined ? {} : { authorization: `Bearer ${key}` }, ip, socket: {} };
    const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    try {
      await guard.canActivate(ctx);
      return 200;
    } catch (err) {
      return (err as ApiError).status;
    }
  };
  return { call, queries: () => queries, directory };
}

describe('ApiKeyGuard', () => {
  it('300 random unknown keys cost at most the lookup burst of database round trips, and a known valid key still passes at once', async () => {
    const valid = newKey();
    const { call, queries } = setup(valid);
    expect(await call(valid)).toBe(200);
    const before = queries();
    const statuses = [];
    for (let i = 0; i < 300; i++) statuses.push(await call(newKey()));
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    // The lookup burst is 20 (the valid key's first, cold lookup took one); refill is 2/s, so a slow
    // machine may add a few.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(270);
    expect(queries() - before).toBeLessThanOrEqual(25);
    expect(queries() - before).toBe(statuses.filter((s) => s === 401).length);
    expect(await call(valid)).toBe(200);
  });

  it('another client address is not throttled by the flood', async () => {
    const valid = newKey();
    const { call } = setup(valid);
    for (let i = 0; i < 100; i++) await call(newKey(), '198.51.100.1');
    expect(await call(valid, '198.51.100.2')).toBe(200);
  });

  it('the same unknown key repeated is answered from the negative cache', async () => {
    const { call, queries } = setup(newKey());
    const unknown = newKey();
    for (let i = 0; i < 50; i++) expect(await call(unknown)).toBe(401);
    expect(queries()).toBe(1);
  });

  it('malformed or missing keys never reach the database', async () => {
    const { call, queries } = setup(newKey());
    expect(await call(undefined)).toBe(401);
    expect(await call('odis_sk_short')).toBe(401);
    expect(await call('not-a-key')).toBe(401);
    expect(queries()).toBe(0);
  });

  it('one key past its own rate limit gets 429 before any lookup', async () => {
    const { call, queries } = setup(newKey());
    const unknown = newKey();
    const statuses = [];
    for (let i = 0; i < 105; i++) statuses.push(await call(unknown));
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(100).every((s) => s === 429)).toBe(true);
    expect(queries()).toBe(1);
  });
});
