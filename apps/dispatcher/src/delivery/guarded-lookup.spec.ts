import { describe, expect, it } from '@jest/globals';
import type { LookupAddress } from 'node:dns';
import { guardedLookup } from './guarded-lookup.js';

const resolver = (addresses: LookupAddress[] | Error) => (_h: string, _o: unknown, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) =>
  addresses instanceof Error ? cb(addresses, []) : cb(null, addresses);

function call(lookup: ReturnType<typeof guardedLookup>, options: { all?: boolean }) {
  return new Promise<{ err: (Error & { code?: string }) | null; args: unknown[] }>((resolve) =>
    (lookup as unknown as (h: string, o: unknown, cb: (...a: unknown[]) => void) => void)('hooks.example.com', options, (err, ...args) =>
      resolve({ err: err as Error | null, args }),
    ),
  );
}

describe('guardedLookup', () => {
  it('passes public addresses, in both callback forms', async () => {
    const lookup = guardedLookup(false, resolver([{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }]));
    expect(await call(lookup, { all: true })).toEqual({ err: null, args: [[{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }]] });
    expect(await call(lookup, {})).toEqual({ err: null, args: ['93.184.216.34', 4] });
  });

  it('refuses when any resolved address is private, loopback, link-local or mapped', async () => {
    for (const bad of ['127.0.0.1', '10.0.0.8', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', '::ffff:127.0.0.1', '100.64.0.1', '64:ff9b::a00:8', '2002:a00:8::1', 'fec0::8']) {
      const lookup = guardedLookup(false, resolver([{ address: '93.184.216.34', family: 4 }, { address: bad, family: bad.includes(':') ? 6 : 4 }]));
      const { err } = await call(lookup, { all: true });
      expect(err?.code).toBe('ERR_BLOCKED_TARGET');
      // the attempt record names the host, never what it resolved to
      expect(err?.message).toBe('hooks.example.com resolves to a private, loopback, link-local or reserved address');
    }
  });

  it('allows private addresses when the setting allows them, and passes DNS errors through', async () => {
    expect((await call(guardedLookup(true, resolver([{ address: '127.0.0.1', family: 4 }])), {})).args).toEqual(['127.0.0.1', 4]);
    const dnsError = Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' });
    expect((await call(guardedLookup(false, resolver(dnsError)), {})).err?.code).toBe('ENOTFOUND');
    expect((await call(guardedLookup(false, resolver([])), {})).err?.code).toBe('ENOTFOUND');
  });
});
