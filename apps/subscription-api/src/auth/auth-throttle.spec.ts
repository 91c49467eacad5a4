import { describe, expect, it } from '@jest/globals';
import { AuthThrottle, clientBucket } from './auth-throttle.js';

const settings = {
  API_RATE_LIMIT_PER_SECOND: 1,
  API_RATE_LIMIT_BURST: 2,
  API_AUTH_LOOKUPS_PER_SECOND: 1,
  API_AUTH_LOOKUPS_BURST: 3,
  API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: 5,
};

describe('AuthThrottle', () => {
  it('gives every presented key its own bucket', () => {
    const t = AuthThrottle.fromConfig(settings, () => 0);
    expect(t.request('unknown')).toEqual({ ok: true });
    expect(t.request('unknown')).toEqual({ ok: true });
    expect(t.request('unknown')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(t.request('valid')).toEqual({ ok: true });
  });

  it('limits lookups per client address, and refills over time', () => {
    let now = 0;
    const t = AuthThrottle.fromConfig(settings, () => now);
    const verdicts = Array.from({ length: 5 }, () => t.lookup('203.0.113.7').ok);
    expect(verdicts).toEqual([true, true, true, false, false]);
    expect(t.lookup('203.0.113.8').ok).toBe(true);
    now = 1_000;
    expect(t.lookup('203.0.113.7').ok).toBe(true);
  });

  it('bounds lookups over all clients (an attacker rotating addresses)', () => {
    const t = AuthThrottle.fromConfig(settings, () => 0);
    const allowed = Array.from({ length: 50 }, (_, i) => t.lookup(`198.51.100.${i}`)).filter((v) => v.ok).length;
    expect(allowed).toBe(10); // the global burst: 2 × 5 per second
  });

  it('a refused lookup does not use up the client bucket', () => {
    const t = AuthThrottle.fromConfig({ ...settings, API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: 1 }, () => 0);
    expect(t.lookup('a').ok).toBe(true);
    expect(t.lookup('b').ok).toBe(true);
    expect(t.lookup('b').ok).toBe(false); // global empty
  });
});

describe('clientBucket', () => {
  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
    expect(clientBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(clientBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBucket('::1')).toBe('0:0:0:0::/64');
    expect(clientBucket(undefined)).toBe('unknown');
  });
});
