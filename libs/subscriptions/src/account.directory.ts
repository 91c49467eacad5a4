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
const CACHE_TTL_MS = 5_000;
const TOUCH_EVERY_MS = 60_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Accounts and their API keys. A key is 32 random bytes (base64url) shown once; only its SHA-256
 * is stored (a slow KDF adds nothing for 256-bit random keys and would cost every request).
 * Lookups are cached for a few seconds; revocation takes effect within that window.
 */
@Injectable()
export class AccountDirectory {
  private readonly cache = new Map<string, { value: AuthenticatedKey | null; until: number }>();
  private readonly touched = new Map<string, number>();

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
    return (result.affected ?? 0) > 0;
  }

  async findById(accountId: string): Promise<Account | null> {
    const row = await this.dataSource.getRepository(AccountEntity).findOne({ where: { id: accountId } });
    return row ? { id: row.id, name: row.name, notification_email: row.notificationEmail } : null;
  }

  async authenticate(presented: string): Promise<AuthenticatedKey | null> {
    if (!presented.startsWith(KEY_PREFIX) || presented.length > 100) return null;
    const hash = hashApiKey(presented);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let result: AuthenticatedKey | null;
    if (cached && cached.until > now) {
      result = cached.value;
    } else {
      const row = await this.dataSource.getRepository(ApiKeyEntity).findOne({ where: { keyHash: hash } });
      result = row && !row.revokedAt ? { accountId: row.accountId, keyId: row.id } : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { value: result, until: now + CACHE_TTL_MS });
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

  private async insertKey(repo: ReturnType<DataSource['getRepository']>, accountId: string, label: string | null) {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const id = newId('key');
    await repo.insert({ id, accountId, keyHash: hashApiKey(key), keyPrefix: key.slice(0, KEY_PREFIX.length + 4), label });
    return { key, id };
  }
}
