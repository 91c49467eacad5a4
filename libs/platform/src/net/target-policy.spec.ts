import { describe, expect, it } from '@jest/globals';
import { checkTargetUrl, checkTargetUrlSyntax, isForbiddenAddress, isLoopbackAddress } from './target-policy.js';

const strict = { allowPrivateTargets: false, requireHttps: true };
const local = { allowPrivateTargets: true, requireHttps: false };

describe('isForbiddenAddress', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1', '::7f00:1', '::a00:1'])(
    'forbids %s',
    (ip) => expect(isForbiddenAddress(ip)).toBe(true),
  );
  it.each(['52.123.45.67', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:52.123.45.67'])('allows %s', (ip) =>
    expect(isForbiddenAddress(ip)).toBe(false),
  );
  it.each(['', 'example.com', '1.2.3', '::ffff:1.2.3.4.5', '1::2::3', 'g::1'])('forbids what is not an IP address: %j', (text) =>
    expect(isForbiddenAddress(text)).toBe(true),
  );
});

describe('isForbiddenAddress: IPv6 forms that embed or reach IPv4 or private space', () => {
  // [range, inside (forbidden), just outside (allowed)]
  it.each([
    ['IPv4-compatible ::/96', ['::', '::1', '::7f00:1', '::8.8.8.8', '::ffff:ffff'], ['::1:0:0:0', '0:0:0:0:0:1:0:0']],
    ['IPv4-translated ::ffff:0:0:0/96', ['::ffff:0:8.8.8.8', '::ffff:0:a00:1', '0:0:0:0:ffff:0:ffff:ffff'], ['::fffe:0:808:808', '::ffff:1:808:808', '0:0:0:1:ffff:0:808:808']],
    ['local-use NAT64 64:ff9b:1::/48', ['64:ff9b:1::', '64:ff9b:1:808:8:800::', '64:ff9b:1::8.8.8.8', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'], ['64:ff9b:2::808:808', '64:ff9b:0:ffff::808:808']],
    ['discard-only 100::/64', ['100::', '100::1', '100::ffff:ffff:ffff:ffff'], ['100:0:0:1::', '101::1']],
    ['Teredo 2001::/32', ['2001::', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff'], ['2001:1::1', '2000:ffff::1']],
    ['benchmarking 2001:2::/48', ['2001:2::1', '2001:2:0:ffff::1'], ['2001:2:1::1', '2001:3::1']],
    ['documentation 2001:db8::/32', ['2001:db8::1', '2001:db8:ffff::1'], ['2001:db9::1']],
    ['6to4 2002::/16', ['2002::', '2002:808:808::1', '2002:a00:1::1', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['2003::1', '2001:ffff:ffff::1']],
    ['documentation 3fff::/20', ['3fff::1', '3fff:fff:ffff::1'], ['3fff:1000::1', '3ffe:ffff::1']],
    ['unique local fc00::/7', ['fc00::1', 'fdff:ffff::1'], ['fbff:ffff::1', 'fe00::1']],
    ['link-local fe80::/10', ['fe80::1', 'febf:ffff::1', 'fe80::1%eth0'], ['fe7f:ffff::1']],
    ['site-local fec0::/10', ['fec0::', 'fec0::1', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['fe00::1', 'fe7f:ffff::1']],
    ['multicast ff00::/8', ['ff02::1', 'ffff:ffff::1'], ['2a00::1', 'fe00::1']],
  ])('%s', (_range, inside, outside) => {
    for (const ip of inside) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, true]);
    for (const ip of outside) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, false]);
  });

  it('judges the well-known NAT64 prefix 64:ff9b::/96 by its embedded IPv4 address', () => {
    // public embedded address: allowed, in both textual forms
    for (const ip of ['64:ff9b::8.8.8.8', '64:ff9b::808:808', '64:ff9b::5db8:d822']) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, false]);
    // private, loopback, link-local, CGNAT, reserved embedded addresses: forbidden
    for (const ip of ['64:ff9b::10.0.0.1', '64:ff9b::7f00:1', '64:ff9b::169.254.169.254', '64:ff9b::100.64.0.1', '64:ff9b::192.168.1.1', '64:ff9b::', '64:ff9b::ffff:ffff']) {
      expect([ip, isForbiddenAddress(ip)]).toEqual([ip, true]);
    }
    // just outside the /96: the embedded-address reading does not apply, the address is plain public IPv6
    expect(isForbiddenAddress('64:ff9b:0:0:0:1:a00:1')).toBe(false);
  });

  it('judges IPv4-mapped addresses by the IPv4 address, in dotted and hex form', () => {
    for (const ip of ['::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:7f00:1', '0:0:0:0:0:ffff:169.254.169.254', '::FFFF:127.0.0.1']) {
      expect([ip, isForbiddenAddress(ip)]).toEqual([ip, true]);
    }
    for (const ip of ['::ffff:8.8.8.8', '::ffff:808:808']) expect([ip, isForbiddenAddress(ip)]).toEqual([ip, false]);
  });

  it('refuses the IPv4 6to4 relay anycast 192.88.99.0/24 but not its neighbours', () => {
    expect(isForbiddenAddress('192.88.99.1')).toBe(true);
    expect(isForbiddenAddress('192.88.98.255')).toBe(false);
    expect(isForbiddenAddress('192.88.100.0')).toBe(false);
  });
});

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::2', false],
    ['nope', false],
  ])('%s -> %s', (ip, expected) => expect(isLoopbackAddress(ip)).toBe(expected));
});

describe('checkTargetUrlSyntax', () => {
  it('accepts the seed URL', () => {
    expect(checkTargetUrlSyntax('https://your-server.com/webhooks/odis', strict).ok).toBe(true);
  });
  it.each([
    ['http://your-server.com/x', /https/],
    ['ftp://your-server.com/x', /https/],
    ['not a url', /absolute URL/],
    ['https://user:pw@your-server.com/', /credentials/],
    ['https://127.0.0.1/hook', /private, loopback/],
    ['https://[::1]/hook', /private, loopback/],
    ['https://[::127.0.0.1]/hook', /private, loopback/],
    ['https://169.254.169.254/latest/meta-data', /private, loopback/],
    ['https://localhost:8443/', /localhost is not allowed/],
    ['https://[64:ff9b::a00:1]/hook', /address 64:ff9b::a00:1 is private/],
    ['https://[2002:a00:1::1]/hook', /private, loopback/],
    ['https://[fec0::1]/hook', /private, loopback/],
    ['https://[::ffff:0:a00:1]/hook', /private, loopback/],
    ['https://metadata.google.internal/', /not allowed/],
  ])('refuses %s', (url, reason) => {
    const r = checkTargetUrlSyntax(url, strict);
    expect(r.ok).toBe(false);
    expect((r as { reason: string }).reason).toMatch(reason);
  });
  it('accepts an IPv6 literal with a public NAT64 embedded address', () => {
    expect(checkTargetUrlSyntax('https://[64:ff9b::808:808]/hook', strict).ok).toBe(true);
  });
  it('allows loopback http when the local setting allows it', () => {
    expect(checkTargetUrlSyntax('http://127.0.0.1:4000/hook', local).ok).toBe(true);
  });
});

describe('checkTargetUrl (DNS)', () => {
  it('refuses a public-looking name that resolves to a private address', async () => {
    const r = await checkTargetUrl('https://rebind.example/', strict, async () => [{ address: '10.0.0.5', family: 4 }]);
    // the reason never names what the host resolved to
    expect(r).toEqual({ ok: false, reason: 'host rebind.example resolves to a private, loopback, link-local or reserved address' });
  });
  it('refuses when any of several addresses is private', async () => {
    const r = await checkTargetUrl('https://mixed.example/', strict, async () => [
      { address: '52.1.1.1', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    expect(r.ok).toBe(false);
  });
  it('accepts a name resolving to public addresses', async () => {
    const r = await checkTargetUrl('https://ok.example/', strict, async () => [{ address: '52.1.1.1', family: 4 }]);
    expect(r.ok).toBe(true);
  });
  it('reports a name that does not resolve', async () => {
    const r = await checkTargetUrl('https://nx.example/', strict, async () => {
      throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    });
    expect(r).toEqual({ ok: false, reason: 'host nx.example does not resolve (ENOTFOUND)' });
  });
});
