import { isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';

/**
 * Where webhooks may not go: private, loopback, link-local (cloud metadata 169.254.169.254 among
 * them), CGNAT, multicast, documentation, benchmarking, reserved and unspecified ranges, IPv4 and
 * IPv6, and every IPv6 form that embeds or reaches IPv4 or private space. Checked at registration and
 * again at connect time (DNS rebinding).
 *
 * IPv6 forms that carry an IPv4 address:
 * - IPv4-mapped `::ffff:a.b.c.d` (`::ffff:0:0/96`) and the well-known NAT64 prefix `64:ff9b::/96`
 *   (RFC 6052, always /96: the IPv4 address is the last 32 bits) are judged by the embedded IPv4
 *   address, with the IPv4 rules.
 * - Local-use NAT64 `64:ff9b:1::/48` (RFC 8215) is refused whole: the operator picks a prefix length
 *   inside it (/48 to /96) and the IPv4 bits sit at a different place for each, so the embedded
 *   address cannot be read reliably; judging it with one length would let an address whose other
 *   reading is private through.
 * - IPv4-compatible `::a.b.c.d` (`::/96`, with `::` and `::1`), IPv4-translated `::ffff:0:a.b.c.d`
 *   (`::ffff:0:0:0/96`, RFC 2765), 6to4 `2002::/16` and Teredo `2001::/32` are refused whole: they
 *   are deprecated or tunnel to IPv4 through relays whose IPv4 end is not checked.
 */
const FORBIDDEN_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const FORBIDDEN_V6: readonly (readonly [string, number])[] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d (e.g. [::127.0.0.1] = [::7f00:1])
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215), see above
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo
  ['2001:2::', 48], // benchmarking
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['3fff::', 20], // documentation (RFC 9637)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const LOOPBACK_V4: readonly (readonly [string, number])[] = [['127.0.0.0', 8]];
const LOOPBACK_V6: readonly (readonly [string, number])[] = [['::1', 128]];

/** The 4 bytes of a dotted-quad IPv4 address (as `net.isIP` accepts it), or undefined. */
function ipv4Bytes(text: string): number[] | undefined {
  if (isIP(text) !== 4) return undefined;
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (any textual form `net.isIP` accepts, zone id ignored), or undefined. */
function ipv6Bytes(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, '');
  if (isIP(address) !== 6) return undefined;
  let groups: number[] = [];
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = ipv4Bytes(piece);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function parseCidrs(list: readonly (readonly [string, number])[], family: 4 | 6): { bytes: number[]; prefix: number }[] {
  return list.map(([net, prefix]) => ({ bytes: (family === 4 ? ipv4Bytes(net) : ipv6Bytes(net))!, prefix }));
}

function inPrefix(address: number[], net: { bytes: number[]; prefix: number }): boolean {
  for (let bit = 0; bit < net.prefix; bit += 8) {
    const bits = Math.min(8, net.prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((address[bit / 8] & mask) !== (net.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

const forbiddenV4 = parseCidrs(FORBIDDEN_V4, 4);
const forbiddenV6 = parseCidrs(FORBIDDEN_V6, 6);
const loopbackV4 = parseCidrs(LOOPBACK_V4, 4);
const loopbackV6 = parseCidrs(LOOPBACK_V6, 6);
/** IPv6 prefixes whose last 32 bits are an IPv4 address, judged as that address. */
const embeddingV4 = parseCidrs(
  [
    ['::ffff:0:0', 96], // IPv4-mapped
    ['64:ff9b::', 96], // well-known NAT64 (RFC 6052)
  ],
  6,
);

type ParsedAddress = { family: 4; bytes: number[] } | { family: 6; bytes: number[] };

/** An address as its IPv4 bytes when it is IPv4 or carries one that decides (mapped, NAT64), else IPv6. */
function parseAddress(address: string): ParsedAddress | undefined {
  const v4 = ipv4Bytes(address);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = ipv6Bytes(address);
  if (!v6) return undefined;
  if (embeddingV4.some((net) => inPrefix(v6, net))) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

export interface TargetPolicyOptions {
  /** Allow private/loopback/link-local targets (local stack and tests only). */
  allowPrivateTargets: boolean;
  /** Require https:// (http is allowed only together with allowPrivateTargets, for local receivers). */
  requireHttps: boolean;
}

/** True when webhooks may not go to this address (anything that is not an IP address is refused too). */
export function isForbiddenAddress(address: string): boolean {
  const ip = parseAddress(address);
  if (!ip) return true;
  return (ip.family === 4 ? forbiddenV4 : forbiddenV6).some((net) => inPrefix(ip.bytes, net));
}

export function isLoopbackAddress(address: string): boolean {
  const ip = parseAddress(address);
  if (!ip) return false;
  return (ip.family === 4 ? loopbackV4 : loopbackV6).some((net) => inPrefix(ip.bytes, net));
}

export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** Static checks on a webhook URL (no DNS). */
export function checkTargetUrlSyntax(raw: string, policy: TargetPolicyOptions): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'must use https' };
  if (url.protocol === 'http:' && (policy.requireHttps || !policy.allowPrivateTargets)) return { ok: false, reason: 'must use https' };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (url.hash) return { ok: false, reason: 'must not contain a #fragment' };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (METADATA_HOSTS.has(host) || host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) {
    if (!policy.allowPrivateTargets) return { ok: false, reason: `host ${host} is not allowed` };
  }
  if (isIP(host) && isForbiddenAddress(host) && !policy.allowPrivateTargets) {
    return { ok: false, reason: `address ${host} is private, loopback, link-local or reserved` };
  }
  return { ok: true, url };
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;
/** The system's DNS (every address of a host). */
export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Syntax checks plus what the host name resolves to (all addresses must be allowed). */
export async function checkTargetUrl(raw: string, policy: TargetPolicyOptions, resolve: Resolver = systemResolver): Promise<TargetCheck> {
  const syntax = checkTargetUrlSyntax(raw, policy);
  if (!syntax.ok || policy.allowPrivateTargets) return syntax;
  const host = syntax.url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return syntax;
  let addresses: { address: string }[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    return { ok: false, reason: `host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  // Never name the address: it would turn the API into a probe of internal DNS.
  if (bad) return { ok: false, reason: `host ${host} resolves to a private, loopback, link-local or reserved address` };
  return syntax;
}
