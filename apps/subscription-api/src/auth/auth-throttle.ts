import { isIPv6 } from 'node:net';
import { RateLimiter } from './rate-limiter.js';

export interface AuthThrottleSettings {
  API_RATE_LIMIT_PER_SECOND: number;
  API_RATE_LIMIT_BURST: number;
  API_AUTH_LOOKUPS_PER_SECOND: number;
  API_AUTH_LOOKUPS_BURST: number;
  API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: number;
}

/** Why a request is refused before its key is looked up, and for how long (seconds). */
export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * The limits the API key guard applies before any database lookup:
 * - per presented key (by its SHA-256): the API's rate limit. Unknown keys have their own buckets,
 *   so they never drain a valid key's bucket.
 * - per client (IP; IPv6 by its /64) and globally: how many keys this instance has not seen valid
 *   may be looked up in the database. A key seen valid recently skips these two, so a flood of
 *   unknown keys from the same address (a shared NAT) never locks out a working client.
 * Every limiter keeps at most a bounded number of buckets.
 */
export class AuthThrottle {
  constructor(
    private readonly perKey: RateLimiter,
    private readonly lookupsPerClient: RateLimiter,
    private readonly lookupsGlobal: RateLimiter,
  ) {}

  static fromConfig(config: AuthThrottleSettings, now: () => number = Date.now): AuthThrottle {
    return new AuthThrottle(
      new RateLimiter(config.API_RATE_LIMIT_PER_SECOND, config.API_RATE_LIMIT_BURST, now),
      new RateLimiter(config.API_AUTH_LOOKUPS_PER_SECOND, config.API_AUTH_LOOKUPS_BURST, now, 50_000),
      new RateLimiter(config.API_AUTH_LOOKUPS_GLOBAL_PER_SECOND, config.API_AUTH_LOOKUPS_GLOBAL_PER_SECOND * 2, now, 1),
    );
  }

  /** One request with this key (hash). */
  request(keyHash: string): ThrottleVerdict {
    return verdict(this.perKey.take(keyHash));
  }

  /** A database lookup of a key not known to be valid, from `clientIp`. */
  lookup(clientIp: string | undefined): ThrottleVerdict {
    const client = clientBucket(clientIp);
    const clientWait = this.lookupsPerClient.peek(client);
    if (clientWait > 0) return verdict(clientWait);
    const globalWait = this.lookupsGlobal.take('*');
    if (globalWait > 0) return verdict(globalWait);
    return verdict(this.lookupsPerClient.take(client));
  }
}

function verdict(wait: number): ThrottleVerdict {
  return wait > 0 ? { ok: false, retryAfterSeconds: wait } : { ok: true };
}

/** The bucket of a client address: IPv4 as is, IPv6 by its /64 (one host usually owns a whole /64). */
export function clientBucket(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
