/**
 * Jest globalSetup of the integration project: Kafka, Postgres and SMTP once for the whole run, in a
 * temp dir; their URLs go into process.env, which the workers inherit.
 *
 * Jest loads this file through require() (transformed to CommonJS), outside its ESM module registry,
 * where moduleNameMapper does not apply: so the local-stack tool is loaded from its build
 * (dist/scripts/local-stack, made by `npm run build`) with a native import().
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as InfrastructureModule from '../../scripts/local-stack/infrastructure.js';
import type * as ProcessesModule from '../../scripts/local-stack/processes.js';

export const INFRA_GLOBAL = '__ODIS_INFRA__';

export interface GlobalInfra {
  infra: InfrastructureModule.Infrastructure;
  baseDir: string;
  removeHandlers: () => void;
}

// A real dynamic import (swc's CommonJS output would turn `import()` into require()).
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;

export function distModule(rootDir: string, name: string): string {
  const file = join(rootDir, 'dist', 'scripts', 'local-stack', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} not found: run \`npm run build\` before the integration tests`);
  return pathToFileURL(file).href;
}

export default async function globalSetup(_globalConfig: unknown, projectConfig: { rootDir: string }): Promise<void> {
  const rootDir = projectConfig?.rootDir ?? process.cwd();
  const { startInfrastructure, infraEnvLines } = await importEsm<typeof InfrastructureModule>(distModule(rootDir, 'infrastructure'));
  const { installShutdownHandlers, runCommand } = await importEsm<typeof ProcessesModule>(distModule(rootDir, 'processes'));
  const baseDir = mkdtempSync(join(tmpdir(), 'odis-it-'));
  const t0 = Date.now();
  const log = (m: string) => process.stderr.write(`${m}\n`);
  log('');
  const infra = await startInfrastructure({ baseDir, log });
  // Ctrl-C during the run must not leave a broker behind (the children live in their own process groups).
  const { remove } = installShutdownHandlers({ shutdown: () => infra.stop(), log });
  for (const [key, value] of Object.entries(infra.env)) if (value) process.env[key] = value;
  // For test/support/process-pause.ts (tests that SIGSTOP Postgres or Kafka): their data dirs, when they run as local processes.
  const pg = infra.components.postgres;
  if (pg?.source === 'process' && pg.dataDir) process.env.ODIS_TEST_PGDATA = join(pg.dataDir, 'pgdata');
  const kafka = infra.components.kafka;
  if (kafka?.source === 'process' && kafka.dataDir) process.env.ODIS_TEST_KAFKA_DIR = kafka.dataDir;
  // The schema and the topics, as `npm start` makes them (migrations run by their command, never on import).
  for (const script of ['dist/libs/persistence/src/cli/migrate.js', 'dist/libs/messaging/src/cli/ensure-topics.js']) {
    await runCommand(process.execPath, [join(rootDir, script)], { cwd: rootDir, env: { ...process.env, KAFKA_LOG_LEVEL: 'error' }, timeoutMs: 120_000 });
  }
  log(`[infra] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s under ${baseDir}: ${infraEnvLines(infra.env).join(' ')}`);
  const handle: GlobalInfra = { infra, baseDir, removeHandlers: remove };
  (globalThis as Record<string, unknown>)[INFRA_GLOBAL] = handle;
}
