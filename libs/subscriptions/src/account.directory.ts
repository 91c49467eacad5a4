import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { newId } from '@odis/contracts';
import { AccountEntity, ApiKeyEntity } from '@odis/persistence';

export interface Account {
  id: string;
  name: string;
  notification_email: string | null;
}

export interface AuthenticatedKey {
  accountId: string;
  keyId: string;
}

const KEY_PREFIX = 'odis_sk_';
/** A valid key is re-checked after this long (so a revocation elsewhere takes effect within it). */
const CACHE_TTL_MS = 5_000;
/**
 * Negative cache: an unknown key stays unknown. Keys are 256 random bits made here, so an unknown
 * key cannot become valid later; the TTL only bounds memory together with MAX_CACHED.
 */
const NEGATIVE_TTL_MS = 60_000;
const MAX_CACHED = 20_000;
/** How long a key that authenticated counts as "known good" (it then skips the lookup throttle). */
const KNOWN_GOOD_MS = 15 * 60_000;
const TOUCH_EVERY_MS = 60_000;
const KEY_SHAPE = /^odis_sk_[A-Za-z0-9_-]{43}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The shape of a key this directory makes (prefix + 32 random bytes in base64url); anything else is unknown without a lookup. */
export function isWellFormedApiKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}

/**
 * Accounts and their API keys. A key is 32 random bytes (base64url) shown once; only its SHA-256
 * is stored (a slow KDF adds nothing for 256-bit random keys and would cost every request).
 * Lookups are cached for a few seconds; revocation takes effect within that window.
 */
@Injectable()
export class AccountDirectory {
  private readonly cache = new Map<string, { value: AuthenticatedKey | null; until: number }>();
  private readonly knownGood = new Map<string, number>();
  private readonly touched = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<AuthenticatedKey | null>>();
  private lookups = 0;

  constructor(private readonly dataSource: DataSource) {}

  async createAccount(input: { name: string; email: string | null }): Promise<{ account: Account; apiKey: string; keyId: string }> {
    return this.dataSource.transaction(async (em) => {
      const account = { id: newId('acct'), name: input.name, notificationEmail: input.email };
      await em.getRepository(AccountEntity).insert(account);
      const { key, id } = await this.insertKey(em.getRepository(ApiKeyEntity), account.id, 'initial');
      return { account: { id: account.id, name: account.name, notification_email: account.notificationEmail }, apiKey: key, keyId: id };
    });
  }

  async createApiKey(accountId: string, label: string | null): Promise<{ apiKey: string; keyId: string }> {
    const { key, id } = await this.insertKey(this.dataSource.getRepository(ApiKeyEntity), accountId, label);
    return { apiKey: key, keyId: id };
  }

  async revokeApiKey(accountId: string, keyId: string): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(ApiKeyEntity)
      .update({ id: keyId, accountId, revokedAt: null as never }, { revokedAt: new Date() });
    this.cache.clear();
    this.knownGood.clear();
    return (result.affected ?? 0) > 0;
  }

  async findById(accountId: string): Promise<Account | null> {
    const row = await this.dataSource.getRepository(AccountEntity).findOne({ where: { id: accountId } });
    return row ? { id: row.id, name: row.name, notification_email: row.notificationEmail } : null;
  }

  /**
   * What is known about a key without asking the database: the account (cached valid), null
   * (malformed, or cached unknown/revoked: the negative cache), or undefined (a lookup is needed).
   */
  cached(presented: string): AuthenticatedKey | null | undefined {
    if (!isWellFormedApiKey(presented)) return null;
    const entry = this.cache.get(hashApiKey(presented));
    return entry && entry.until > Date.now() ? entry.value : undefined;
  }

  /** True when this key authenticated within the last KNOWN_GOOD_MS (it may have been revoked since). */
  isKnownGood(presented: string): boolean {
    return (this.knownGood.get(hashApiKey(presented)) ?? 0) > Date.now();
  }

  /** Database lookups of keys so far (tests and metrics). */
  get databaseLookups(): number {
    return this.lookups;
  }

  async authenticate(presented: string): Promise<AuthenticatedKey | null> {
    if (!isWellFormedApiKey(presented)) return null;
    const hash = hashApiKey(presented);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let result: AuthenticatedKey | null;
    if (cached && cached.until > now) {
      result = cached.value;
    } else {
      // Concurrent first requests of one key share one lookup.
      let pending = this.inFlight.get(hash);
      if (!pending) {
        pending = this.lookUp(hash).finally(() => this.inFlight.delete(hash));
        this.inFlight.set(hash, pending);
      }
      result = await pending;
    }
    if (result && (this.touched.get(result.keyId) ?? 0) + TOUCH_EVERY_MS < now) {
      this.touched.set(result.keyId, now);
      void this.dataSource
        .getRepository(ApiKeyEntity)
        .update({ id: result.keyId }, { lastUsedAt: new Date(now) })
        .catch(() => undefined);
    }
    return result;
  }

  private async lookUp(hash: string): Promise<AuthenticatedKey | null> {
    this.lookups++;
    const row = await this.dataSource.getRepository(ApiKeyEntity).findOne({ where: { keyHash: hash } });
    const result = row && !row.revokedAt ? { accountId: row.accountId, keyId: row.id } : null;
    const now = Date.now();
    remember(this.cache, hash, { value: result, until: now + (result ? CACHE_TTL_MS : NEGATIVE_TTL_MS) });
    if (result) remember(this.knownGood, hash, now + KNOWN_GOOD_MS);
    else this.knownGood.delete(hash);
    return result;
  }

  private async insertKey(repo: ReturnType<DataSource['getRepository']>, accountId: string, label: string | null) {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const id = newId('key');
    await repo.insert({ id, accountId, keyHash: hashApiKey(key), keyPrefix: key.slice(0, KEY_PREFIX.length + 4), label });
    return { key, id };
  }
}

/** Sets `key` as the most recent entry of a bounded map (the oldest entries go first). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_CACHED) map.delete(map.keys().next().value as string);
}
