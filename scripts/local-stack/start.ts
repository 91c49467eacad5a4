/**
 * `npm start`: the whole platform on this machine, no Docker needed.
 * infrastructure (.local/data, .local/mail) → migrations → Kafka topics → demo accounts → the five apps
 * → wait for GET /ready → .local/stack.env. Ctrl-C / SIGTERM stops the apps, then the infrastructure.
 * Steps whose program another engineer has not written yet are skipped with a message.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startInfrastructure, type Infrastructure } from './infrastructure.js';
import { installShutdownHandlers } from './processes.js';
import { repoRoot, localDir } from './paths.js';
import { writeEnvFile, formatEnvFile } from './env-file.js';
import { loadOrCreateSecret, newEncryptionKey, newServiceToken } from './secrets.js';
import {
  APP_NAMES,
  appEntry,
  assignPorts,
  buildAppEnv,
  parseAccountJson,
  prefixLine,
  resolveRetrySchedule,
  runNodeScriptIfPresent,
  startApp,
  waitForHttpReady,
  stackEnvEntries,
  DEMO_ACCOUNTS,
  type AccountsCache,
  type AppName,
  type RunningApp,
} from './apps.js';

const say = (m: string) => console.log(prefixLine('start', m));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function stopApps(apps: RunningApp[]): Promise<void> {
  if (apps.length === 0) return;
  say(`stopping ${apps.map((a) => a.name).join(', ')}`);
  await Promise.all(apps.map((a) => a.process.stop({ signal: 'SIGTERM', timeoutMs: 10_000 })));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const root = repoRoot();
  const local = localDir(process.env, root);
  const dataDir = join(local, 'data');
  mkdirSync(local, { recursive: true });

  const apps: RunningApp[] = [];
  let infra: Infrastructure | undefined;
  let shuttingDown = false;
  handlers = installShutdownHandlers({
    handleErrors: true,
    shutdown: async () => {
      shuttingDown = true;
      await stopApps(apps);
      if (infra) {
        say('stopping infrastructure');
        await infra.stop();
      }
      say('stopped');
    },
  });

  infra = await startInfrastructure({ baseDir: local, dataDir, mailDir: join(local, 'mail') });
  const secretEncryptionKey = loadOrCreateSecret(join(local, 'secret.key'), newEncryptionKey);
  const ingestServiceToken = loadOrCreateSecret(join(local, 'ingest.token'), newServiceToken);
  const schedule = resolveRetrySchedule(process.env);
  if (schedule.warning) say(schedule.warning);
  const shared = { infra: infra.env, retrySchedule: schedule.value, secretEncryptionKey, ingestServiceToken };
  const cliEnv = buildAppEnv(process.env, shared, 0);
  delete cliEnv.PORT;
  const cliOut = (name: string) => (line: string, stream: 'stdout' | 'stderr') => {
    if (stream === 'stderr') console.log(prefixLine(name, line));
  };

  // 1. migrations
  const migrate = await runNodeScriptIfPresent(join(root, 'dist/libs/persistence/src/cli/migrate.js'), [], cliEnv, {
    name: 'migrate',
    cwd: root,
    onLine: (line) => console.log(prefixLine('migrate', line)),
  });
  say(migrate.skipped ? `migrations skipped: ${migrate.reason}` : 'migrations applied');

  // 2. topics
  const topics = await runNodeScriptIfPresent(join(root, 'dist/libs/messaging/src/cli/ensure-topics.js'), [], cliEnv, {
    name: 'ensure-topics',
    cwd: root,
    onLine: (line) => console.log(prefixLine('topics', line)),
  });
  say(topics.skipped ? `topic creation skipped: ${topics.reason}` : 'topics ensured');

  // 3. demo accounts (kept in .local/data/accounts.json while the local Postgres cluster lives)
  const accountsFile = join(dataDir, 'accounts.json');
  const pg = infra.components.postgres;
  let accounts: AccountsCache = {};
  const cached: AccountsCache | undefined = existsSync(accountsFile) ? (JSON.parse(readFileSync(accountsFile, 'utf8')) as AccountsCache) : undefined;
  if (cached?.DEMO && cached.SECOND && pg?.source === 'process' && pg.fresh === false) {
    accounts = cached;
    say(`reusing demo accounts from ${accountsFile}`);
  } else {
    const cli = join(root, 'dist/apps/subscription-api/src/cli/main.js');
    for (const a of DEMO_ACCOUNTS) {
      const res = await runNodeScriptIfPresent(cli, ['accounts', 'create', '--name', a.name, '--email', a.email, '--json'], cliEnv, {
        name: 'accounts create',
        cwd: root,
        onLine: cliOut('cli'),
      });
      if (res.skipped) {
        say(`account creation skipped: ${res.reason}`);
        break;
      }
      accounts[a.key] = parseAccountJson(res.value);
      say(`account "${a.name}" created: ${accounts[a.key]!.account_id}`);
    }
    if (accounts.DEMO && accounts.SECOND) writeFileSync(accountsFile, JSON.stringify(accounts, null, 2) + '\n', { mode: 0o600 });
  }

  // 4. the apps
  const present = APP_NAMES.filter((app) => {
    if (existsSync(appEntry(root, app))) return true;
    say(`${app} skipped: ${appEntry(root, app)} does not exist (yet)`);
    return false;
  });
  const ports = await assignPorts(present);
  for (const app of present) {
    apps.push(startApp(root, app, ports[app], buildAppEnv(process.env, shared, ports[app]), (l) => console.log(l)));
  }
  await Promise.all(apps.map((a) => waitForHttpReady(`${a.url}/ready`, { process: a.process, what: `${a.name} GET /ready`, timeoutMs: 180_000 })));
  for (const a of apps) {
    void a.process.exited.then((info) => {
      if (!shuttingDown) say(`${a.name} exited unexpectedly (${info.code ?? info.signal}); the rest keeps running`);
    });
  }

  // 5. stack.env
  const urlOf = (app: AppName) => apps.find((a) => a.name === app)?.url;
  const entries = stackEnvEntries({
    infra: infra.env,
    apiUrl: urlOf('subscription-api'),
    ingestUrl: urlOf('event-ingest'),
    ingestServiceToken,
    accounts,
  });
  const stackEnv = join(local, 'stack.env');
  writeEnvFile(stackEnv, entries);
  console.log('\n' + formatEnvFile(entries));
  if (entries.API_URL) console.log(`dashboard: ${entries.API_URL}/dashboard`);
  const parts = Object.entries(infra.components).map(([c, i]) => `${c} ${i.source === 'external' ? 'external' : seconds(i.startMs)}`);
  say(`ready in ${seconds(Date.now() - t0)} (${parts.join(', ')}; ${apps.length} app(s)); env written to ${stackEnv}; Ctrl-C stops everything`);
  await new Promise<never>(() => undefined);
}

let handlers: ReturnType<typeof installShutdownHandlers> | undefined;
main().catch((err) => {
  console.error(prefixLine('start', `failed: ${(err as Error).stack ?? err}`));
  if (handlers) handlers.shutdown(1);
  else process.exit(1);
});
