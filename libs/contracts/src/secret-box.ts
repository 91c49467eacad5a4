import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM encryption of webhook secrets at rest and on the subscriptions changelog.
 * Format: `enc:v1:<key id>:<iv b64url>:<tag b64url>:<ciphertext b64url>`. The key id (first 8 hex
 * chars of SHA-256 of the key) lets an old key keep decrypting after a rotation: pass the new key
 * first, old keys after it. The subscription id is bound as additional authenticated data, so a
 * ciphertext copied onto another subscription does not decrypt.
 */
export class SecretBox {
  private readonly keys: { id: string; key: Buffer }[];

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = keys.map((key) => {
      if (key.length !== 32) throw new Error('secret encryption keys must be 32 bytes (base64 of 32 random bytes)');
      return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
    });
  }

  /** Builds a box from the base64 keys of configuration (`SECRET_ENCRYPTION_KEY`, then previous ones). */
  static fromBase64(...keys: (string | undefined)[]): SecretBox {
    return new SecretBox(keys.filter((k): k is string => !!k).map((k) => Buffer.from(k, 'base64')));
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['enc', 'v1', id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  decrypt(sealed: string, context: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 6 || parts[0] !== 'enc' || parts[1] !== 'v1') throw new Error('not an encrypted secret');
    const entry = this.keys.find((k) => k.id === parts[2]);
    if (!entry) throw new Error(`no key with id ${parts[2]} to decrypt this secret`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(parts[3], 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(parts[4], 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(parts[5], 'base64url')), decipher.final()]).toString('utf8');
  }
}
