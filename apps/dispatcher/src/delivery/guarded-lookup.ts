import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isForbiddenAddress } from '@odis/platform';
import { BlockedTargetError } from './webhook-http-client.js';

type RawLookup = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `lookup` for sockets that refuses private, loopback, link-local and reserved addresses at
 * connect time, so a host name that resolved to a public address at registration and to an internal
 * one now (DNS rebinding) is still refused. Every resolved address must be allowed. Node calls it
 * with `all: true` (happy eyeballs) or without; both forms are answered. IP-literal hosts never
 * reach a lookup: check those before connecting.
 */
export function guardedLookup(allowPrivateTargets: boolean, resolve: RawLookup = dnsLookup as unknown as RawLookup): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number | string; hints?: number } | number, callback: (...args: unknown[]) => void) => {
    const opts = typeof options === 'number' ? { family: options } : (options ?? {});
    resolve(hostname, { ...opts, all: true } as LookupAllOptions, (err, addresses) => {
      if (err) return callback(err);
      if (!addresses || addresses.length === 0) {
        const notFound = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        return callback(notFound);
      }
      if (!allowPrivateTargets) {
        // The message goes into the attempt record the customer reads: it never names the address.
        if (addresses.some((a) => isForbiddenAddress(a.address))) {
          return callback(new BlockedTargetError(`${hostname} resolves to a private, loopback, link-local or reserved address`));
        }
      }
      if (opts.all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  }) as LookupFunction;
}
