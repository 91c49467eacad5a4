import { defineSettings, settings, type SettingsOf } from '@odis/config';
import { databaseSettings } from '../data-source.js';

/** The settings of `npm run migrate` (libs/persistence/src/cli/migrate.ts). */
export const migrateSettings = defineSettings('migrate', {
  ...databaseSettings,
  MIGRATE_WAIT_MS: settings.int(60_000, 0, 3_600_000).describe('how long migrate waits for the database to be reachable'),
  MIGRATE_STATEMENT_TIMEOUT_MS: settings
    .int(600_000, 0, 86_400_000)
    .describe('`statement_timeout` of the migrations (they may rewrite big tables); 0 = none'),
});

export type MigrateConfig = SettingsOf<typeof migrateSettings>;
