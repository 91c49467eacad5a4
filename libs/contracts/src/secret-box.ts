import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Length of every GCM authentication tag written and accepted (a shorter tag weakens forgery resistance). */
const TAG_BYTES = 16;

/**
 * AES-256-GCM encryption of webhook secrets at rest and on the subscriptions changelog.
 * Format: `enc:v1:<key id>:<iv b64url>:<tag b64url>:<ciphertext b64url>`. The key id (first 8 hex
 * chars of SHA-256 of the key) names the key that sealed it, so any number of previous keys keep
 * decrypting after rotations: pass the current key first (it encrypts), then the previous ones,
 * newest first. The subscription id is bound as additional authenticated data, so a ciphertext
 * copied onto another subscription does not decrypt. Tags must be exactly 16 bytes.
 */
export class SecretBox {
  private readonly keys: { id: string; key: Buffer }[];

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = keys.map((key) => {
      if (key.length !== 32) throw new Error('secret encryption keys must be 32 bytes (base64 of 32 random bytes)');
      return { id: SecretBox.keyId(key), key };
    });
  }

  /**
   * Builds a box from the base64 keys of configuration: `SECRET_ENCRYPTION_KEY`, then the previous
   * ones (`SECRET_ENCRYPTION_KEY_PREVIOUS`, a list). Empty entries are ignored.
   */
  static fromBase64(...keys: (string | readonly string[] | undefined)[]): SecretBox {
    const flat = keys.flatMap((k) => (k === undefined ? [] : typeof k === 'string' ? [k] : [...k])).filter((k) => k.trim() !== '');
    return new SecretBox(flat.map((k) => Buffer.from(k.trim(), 'base64')));
  }

  /** Id of a key as it appears in the ciphertexts it sealed. */
  static keyId(key: Buffer): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** Id of the key that encrypts (the current one). */
  get currentKeyId(): string {
    return this.keys[0].id;
  }

  /** Ids of every key this box can decrypt with, current first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** Id of the key that sealed `sealed`, or null when it is not a SecretBox ciphertext. */
  static sealedKeyId(sealed: string): string | null {
    const parts = sealed.split(':');
    return parts.length === 6 && parts[0] === 'enc' && parts[1] === 'v1' ? parts[2] : null;
  }

  /** True when `sealed` was sealed with the current key (re-encryption would change nothing). */
  isCurrent(sealed: string): boolean {
    return SecretBox.sealedKeyId(sealed) === this.keys[0].id;
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['enc', 'v1', id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  decrypt(sealed: string, context: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 6 || parts[0] !== 'enc' || parts[1] !== 'v1') throw new Error('not an encrypted secret');
    const entry = this.keys.find((k) => k.id === parts[2]);
    if (!entry) throw new Error(`no key with id ${parts[2]} to decrypt this secret (keys known: ${this.keyIds.join(', ')})`);
    const iv = Buffer.from(parts[3], 'base64url');
    if (iv.length !== 12) throw new Error(`IV must be 12 bytes, got ${iv.length}`);
    const tag = Buffer.from(parts[4], 'base64url');
    if (tag.length !== TAG_BYTES) throw new Error(`authentication tag must be ${TAG_BYTES} bytes, got ${tag.length}`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(Buffer.from(parts[5], 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`secret does not authenticate with key ${entry.id} (tampered, or sealed for another subscription)`);
    }
  }

  /**
   * The same secret sealed with the current key, or null when it already is (idempotent). Throws
   * when no known key decrypts it.
   */
  reencrypt(sealed: string, context: string): string | null {
    if (this.isCurrent(sealed)) {
      this.decrypt(sealed, context); // still proves it is valid
      return null;
    }
    return this.encrypt(this.decrypt(sealed, context), context);
  }
}
