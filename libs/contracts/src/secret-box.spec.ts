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
});
