/**
 * The README settings table, generated from the settings schemas (`defineSettings` of every app and
 * CLI). `node dist/scripts/settings-table.js` rewrites README.md's table; `--check` only compares
 * (exit 1 when it differs). scripts/settings-table.spec.ts fails when README.md drifts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineSettings, extractSettingsTable, renderSettingsTable, replaceSettingsTable, type AnySettingsDefinition } from '@odis/config';
import { z } from 'zod';
import { dispatcherSettings } from '../apps/dispatcher/src/config/dispatcher.config.js';
import { ingestSettings } from '../apps/event-ingest/src/config/event-ingest.config.js';
import { notifierSettings } from '../apps/notifier/src/config/notifier.config.js';
import { retrySchedulerSettings } from '../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { cliKafkaSettings, cliSecretSettings, cliSettings } from '../apps/subscription-api/src/cli/cli.settings.js';
import { subscriptionApiSettings } from '../apps/subscription-api/src/config/subscription-api.config.js';
import { ensureTopicsSettings } from '../libs/messaging/src/cli/ensure-topics.settings.js';
import { migrateSettings } from '../libs/persistence/src/cli/migrate.settings.js';
import { repoRoot } from './local-stack/paths.js';

/**
 * What scripts/local-stack reads (it passes env objects around and is not an app, so these are
 * listed for the table only).
 */
const localStackSettings = defineSettings('npm start, tests', {
  LOCAL_STACK_DIR: z.string().optional().default('.local').describe('where the local stack keeps its data'),
  LOCAL_STACK_RUNTIME: z
    .enum(['auto', 'process', 'container'])
    .optional()
    .default('auto')
    .describe('`process` or `container` to force how Kafka/Postgres run'),
});

/** The five services; a setting all of them read is listed as "all apps". */
const APPS = [subscriptionApiSettings, ingestSettings, dispatcherSettings, retrySchedulerSettings, notifierSettings];

/** Every definition, in the order the table first names their settings. */
export const SETTINGS_DEFINITIONS: readonly AnySettingsDefinition[] = [
  ...APPS,
  migrateSettings,
  cliSettings,
  cliSecretSettings,
  cliKafkaSettings,
  ensureTopicsSettings,
  localStackSettings,
];

export function settingsTable(): string {
  return renderSettingsTable(SETTINGS_DEFINITIONS, { allApps: APPS.map((d) => d.name) });
}

export const README_PATH = join(repoRoot(), 'README.md');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const readme = readFileSync(README_PATH, 'utf8');
  const table = settingsTable();
  if (process.argv.includes('--check')) {
    const same = extractSettingsTable(readme) === table;
    process.stdout.write(same ? 'README settings table is up to date\n' : 'README settings table differs from the schemas: run node dist/scripts/settings-table.js\n');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(README_PATH, replaceSettingsTable(readme, table));
  process.stdout.write('README settings table regenerated\n');
}
