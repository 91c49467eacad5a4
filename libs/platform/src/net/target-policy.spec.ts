import { describe, expect, it } from '@jest/globals';
import { checkTargetUrl, checkTargetUrlSyntax, isForbiddenAddress } from './target-policy.js';

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
    ['https://metadata.google.internal/', /not allowed/],
  ])('refuses %s', (url, reason) => {
    const r = checkTargetUrlSyntax(url, strict);
    expect(r.ok).toBe(false);
    expect((r as { reason: string }).reason).toMatch(reason);
  });
  it('allows loopback http when the local setting allows it', () => {
    expect(checkTargetUrlSyntax('http://127.0.0.1:4000/hook', local).ok).toBe(true);
  });
});

describe('checkTargetUrl (DNS)', () => {
  it('refuses a public-looking name that resolves to a private address', async () => {
    const r = await checkTargetUrl('https://rebind.example/', strict, async () => [{ address: '10.0.0.5', family: 4 }]);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('resolves to 10.0.0.5') });
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
