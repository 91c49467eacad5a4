import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

export type IdPrefix = 'acct' | 'key' | 'wh' | 'evt' | 'dlv' | 'att' | 'ntf' | 'rec';

/** A random public id such as `wh_3k9x…` (26 base32 chars, 130 bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base32(randomBytes(17), 26)}`;
}

/** A deterministic id from its parts: the same parts give the same id on every run. */
export function stableId(prefix: IdPrefix, ...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return `${prefix}_${base32(hash.digest(), 26)}`;
}

/** Event id: the producer's id when given (scoped to its account), else the raw record's position. */
export function eventIdFor(input: { accountId: string; producerId?: string | null; rawPosition: string }): string {
  return input.producerId
    ? stableId('evt', 'producer', input.accountId, input.producerId)
    : stableId('evt', 'raw', input.rawPosition);
}

/** Delivery id: one per (event, subscription), the same on every attempt and every re-fan-out. */
export function deliveryIdFor(eventId: string, subscriptionId: string): string {
  return stableId('dlv', eventId, subscriptionId);
}
