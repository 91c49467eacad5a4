import { ConfigError, retryWithBackoff } from '@odis/config';
import { databaseSettingsFrom, runMigrations } from '../data-source.js';
import { migrateSettings } from './migrate.settings.js';

let config;
try {
  config = migrateSettings.load();
} catch (err) {
  process.stderr.write(`migrate: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(78);
}
const url = config.DATABASE_URL;
const database = databaseSettingsFrom(config, { statementTimeoutMs: config.MIGRATE_STATEMENT_TIMEOUT_MS });
const deadline = AbortSignal.timeout(config.MIGRATE_WAIT_MS);
const ran = await retryWithBackoff(() => runMigrations(url, database), {
  signal: deadline,
  onError: (err, attempt, wait) => process.stderr.write(`migrate: database not reachable (${(err as Error).message}), retry ${attempt} in ${wait} ms\n`),
});
process.stdout.write(ran.length ? `migrate: applied ${ran.join(', ')}\n` : 'migrate: schema is up to date\n');
