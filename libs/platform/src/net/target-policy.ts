import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';

/**
 * Where webhooks may not go: private, loopback, link-local (cloud metadata 169.254.169.254 among
 * them), CGNAT, multicast, reserved and unspecified ranges, IPv4 and IPv6, including IPv4-mapped
 * IPv6. Checked at registration and again at connect time (DNS rebinding).
 */
const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d (e.g. [::127.0.0.1] = [::7f00:1]).
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function unmapIpv4(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

export interface TargetPolicyOptions {
  /** Allow private/loopback/link-local targets (local stack and tests only). */
  allowPrivateTargets: boolean;
  /** Require https:// (http is allowed only together with allowPrivateTargets, for local receivers). */
  requireHttps: boolean;
}

export function isForbiddenAddress(address: string): boolean {
  const ip = unmapIpv4(address);
  const family = isIP(ip);
  if (family === 0) return true;
  return forbidden.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export function isLoopbackAddress(address: string): boolean {
  const ip = unmapIpv4(address);
  const family = isIP(ip);
  return family !== 0 && LOOPBACK.check(ip, family === 4 ? 'ipv4' : 'ipv6');
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
const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Syntax checks plus what the host name resolves to (all addresses must be allowed). */
export async function checkTargetUrl(raw: string, policy: TargetPolicyOptions, resolve: Resolver = defaultResolver): Promise<TargetCheck> {
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
  if (bad) return { ok: false, reason: `host ${host} resolves to ${bad.address}, a private, loopback, link-local or reserved address` };
  return syntax;
}
