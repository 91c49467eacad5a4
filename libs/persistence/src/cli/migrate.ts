import { ConfigError, loadConfig, settings } from '@odis/config';
import { retryWithBackoff } from '@odis/config';
import { databaseSettingsFrom, databaseSettingsShape, runMigrations } from '../data-source.js';

let config;
try {
  config = loadConfig({
    DATABASE_URL: settings.databaseUrl,
    /** How long migrate waits for the database to be reachable, ms. */
    MIGRATE_WAIT_MS: settings.int(60_000, 0, 3_600_000),
    /** statement_timeout of the migrations (they may rewrite big tables), ms; 0 = none. */
    MIGRATE_STATEMENT_TIMEOUT_MS: settings.int(600_000, 0, 86_400_000),
    ...databaseSettingsShape,
  });
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
