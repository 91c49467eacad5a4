import { DataSource } from 'typeorm';
import { ConfigError } from '@odis/config';
import { SecretBox } from '@odis/contracts';
import { databaseSettingsFrom, dataSourceOptions } from '@odis/persistence';
import { AccountDirectory, SubscriptionStore } from '@odis/subscriptions';
import { cliSecretSettings, cliSettings } from './cli.settings.js';
import { DLQ_USAGE, runDlqCli } from './dlq.command.js';
import { reencryptSecrets } from './secrets.command.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

const USAGE = `usage:
  accounts create --name "Happy Paws" --email ops@happypaws.example [--json]
  keys create --account <account id> [--label <label>] [--json]
  keys revoke --account <account id> --key <key id>
  secrets reencrypt [--batch-size <n>] [--json]
      seals every webhook secret with SECRET_ENCRYPTION_KEY (decrypting with it or a key of
      SECRET_ENCRYPTION_KEY_PREVIOUS); idempotent; exit code 1 when any secret failed
${DLQ_USAGE.replace(/^usage:\n/, '')}`;

/** Operator commands on accounts and API keys. Returns the process exit code. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const [group, action, ...rest] = args;
  // Dead letters: Kafka first, Postgres only for the replay log (dlq.command.ts).
  if (group === 'dlq') return runDlqCli(args.slice(1), env, io);
  const json = rest.includes('--json');
  if (!group || !action) {
    io.err(USAGE);
    return 64;
  }
  let config;
  try {
    config = cliSettings.load(env);
  } catch (err) {
    io.err(err instanceof ConfigError ? err.message : String(err));
    return 78;
  }
  let box: SecretBox | null = null;
  if (group === 'secrets') {
    try {
      const keys = cliSecretSettings.load(env);
      box = SecretBox.fromBase64(keys.SECRET_ENCRYPTION_KEY, keys.SECRET_ENCRYPTION_KEY_PREVIOUS);
    } catch (err) {
      io.err((err as Error).message);
      return 78;
    }
  }
  const ds = new DataSource(dataSourceOptions(config.DATABASE_URL, {}, { ...databaseSettingsFrom(config), poolSize: 2 }));
  await ds.initialize();
  try {
    const directory = new AccountDirectory(ds);
    if (group === 'accounts' && action === 'create') {
      const name = flag(rest, 'name');
      const email = flag(rest, 'email') ?? null;
      if (!name) throw new Error('--name is required');
      if (email !== null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new Error(`--email "${email}" is not an email address`);
      const { account, apiKey, keyId } = await directory.createAccount({ name, email });
      if (json) io.out(JSON.stringify({ account_id: account.id, api_key: apiKey, key_id: keyId, name, email }));
      else io.out(`account ${account.id} (${name}) created\nAPI key (shown once): ${apiKey}`);
      return 0;
    }
    if (group === 'keys' && action === 'create') {
      const accountId = flag(rest, 'account');
      if (!accountId || !(await directory.findById(accountId))) throw new Error('--account must name an existing account');
      const { apiKey, keyId } = await directory.createApiKey(accountId, flag(rest, 'label') ?? null);
      io.out(json ? JSON.stringify({ account_id: accountId, api_key: apiKey, key_id: keyId }) : `key ${keyId}: ${apiKey}`);
      return 0;
    }
    if (group === 'keys' && action === 'revoke') {
      const accountId = flag(rest, 'account');
      const keyId = flag(rest, 'key');
      if (!accountId || !keyId) throw new Error('--account and --key are required');
      const revoked = await directory.revokeApiKey(accountId, keyId);
      io.out(revoked ? `key ${keyId} revoked` : `no active key ${keyId} in account ${accountId}`);
      return revoked ? 0 : 1;
    }
    if (group === 'secrets' && action === 'reencrypt' && box) {
      const size = flag(rest, 'batch-size');
      const batchSize = size === undefined ? 200 : Number(size);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('--batch-size must be an integer between 1 and 10000');
      const counts = await reencryptSecrets(new SubscriptionStore(ds), box, {
        batchSize,
        onProgress: (c) => {
          if (!json) io.err(`… ${c.reencrypted} re-encrypted, ${c.alreadyCurrent} already current, ${c.failed} failed`);
        },
      });
      if (json) {
        io.out(JSON.stringify({ key_id: box.currentKeyId, reencrypted: counts.reencrypted, already_current: counts.alreadyCurrent, failed: counts.failed, gone: counts.gone, failures: counts.failures }));
      } else {
        for (const f of counts.failures) io.err(`failed: ${f.id}: ${f.reason}`);
        io.out(`secrets under key ${box.currentKeyId}: ${counts.reencrypted} re-encrypted, ${counts.alreadyCurrent} already current, ${counts.failed} failed`);
      }
      return counts.failed === 0 ? 0 : 1;
    }
    io.err(USAGE);
    return 64;
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return 1;
  } finally {
    await ds.destroy();
  }
}
