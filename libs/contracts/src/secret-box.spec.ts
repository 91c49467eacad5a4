import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox([key]);

  it('round-trips and never contains the plaintext', () => {
    const sealed = box.encrypt('your_webhook_secret', 'wh_1');
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain('your_webhook_secret');
    expect(box.decrypt(sealed, 'wh_1')).toBe('your_webhook_secret');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same', 'wh_1')).not.toBe(box.encrypt('same', 'wh_1'));
  });

  it('refuses a ciphertext moved to another subscription or tampered with', () => {
    const sealed = box.encrypt('secret-value-1234', 'wh_1');
    expect(() => box.decrypt(sealed, 'wh_2')).toThrow();
    const parts = sealed.split(':');
    parts[5] = Buffer.from('x' + Buffer.from(parts[5], 'base64url').toString('latin1'), 'latin1').toString('base64url');
    expect(() => box.decrypt(parts.join(':'), 'wh_1')).toThrow();
  });

  it('decrypts with a previous key after rotation', () => {
    const sealedOld = box.encrypt('old-secret-123456', 'wh_9');
    const rotated = new SecretBox([randomBytes(32), key]);
    expect(rotated.decrypt(sealedOld, 'wh_9')).toBe('old-secret-123456');
    expect(rotated.encrypt('x', 'wh_9').split(':')[2]).not.toBe(sealedOld.split(':')[2]);
  });

  it('rejects keys of the wrong size', () => {
    expect(() => new SecretBox([randomBytes(16)])).toThrow(/32 bytes/);
  });

  describe('key list (any number of previous keys)', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const k3 = randomBytes(32);
    const b64 = (k: Buffer) => k.toString('base64');

    it('decrypts with any previous key after two rotations, and encrypts with the current one', () => {
      const underK1 = new SecretBox([k1]).encrypt('sealed-under-k1', 'wh_1');
      const underK2 = new SecretBox([k2, k1]).encrypt('sealed-under-k2', 'wh_2');
      const now = SecretBox.fromBase64(b64(k3), [b64(k2), b64(k1)]);
      expect(now.decrypt(underK1, 'wh_1')).toBe('sealed-under-k1');
      expect(now.decrypt(underK2, 'wh_2')).toBe('sealed-under-k2');
      expect(SecretBox.sealedKeyId(now.encrypt('x', 'wh_3'))).toBe(SecretBox.keyId(k3));
      expect(now.keyIds).toEqual([k3, k2, k1].map((k) => SecretBox.keyId(k)));
    });

    it('fails cleanly (an Error naming the key id, never garbage) with an unknown key', () => {
      const sealed = new SecretBox([k1]).encrypt('x-secret', 'wh_1');
      const without = new SecretBox([k3, k2]);
      expect(() => without.decrypt(sealed, 'wh_1')).toThrow(new RegExp(`no key with id ${SecretBox.keyId(k1)}`));
    });

    it('reencrypt moves a secret to the current key and leaves a current one alone', () => {
      const old = new SecretBox([k1]).encrypt('rotate-me', 'wh_1');
      const now = new SecretBox([k2, k1]);
      expect(now.isCurrent(old)).toBe(false);
      const moved = now.reencrypt(old, 'wh_1')!;
      expect(now.isCurrent(moved)).toBe(true);
      expect(new SecretBox([k2]).decrypt(moved, 'wh_1')).toBe('rotate-me');
      expect(now.reencrypt(moved, 'wh_1')).toBeNull();
      expect(() => new SecretBox([k3]).reencrypt(old, 'wh_1')).toThrow(/no key/);
    });

    it('ignores empty list entries', () => {
      expect(SecretBox.fromBase64(b64(k1), undefined, [], [' ']).keyIds).toHaveLength(1);
    });
  });

  describe('16-byte GCM tags', () => {
    it('writes 16-byte tags', () => {
      const tag = Buffer.from(box.encrypt('abc', 'wh_1').split(':')[4], 'base64url');
      expect(tag).toHaveLength(16);
    });

    it('refuses a truncated tag, even one that is a prefix of the real tag', () => {
      const parts = box.encrypt('truncate-me', 'wh_1').split(':');
      for (const bytes of [4, 8, 12, 15]) {
        const short = [...parts];
        short[4] = Buffer.from(parts[4], 'base64url').subarray(0, bytes).toString('base64url');
        expect(() => box.decrypt(short.join(':'), 'wh_1')).toThrow(/tag must be 16 bytes/);
      }
      const long = [...parts];
      long[4] = Buffer.concat([Buffer.from(parts[4], 'base64url'), Buffer.alloc(1)]).toString('base64url');
      expect(() => box.decrypt(long.join(':'), 'wh_1')).toThrow(/tag must be 16 bytes/);
    });
  });
});
