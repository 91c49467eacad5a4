/** The pieces `npm start` is made of, as small functions that the specs beside this file exercise. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { processes, runCommand, type ManagedProcess } from './processes.js';
import { pickPort } from './ports.js';
import { retryUntil } from './wait.js';
import type { InfraEnv } from './infrastructure.js';

export const APP_NAMES = ['subscription-api', 'event-ingest', 'dispatcher', 'retry-scheduler', 'notifier'] as const;
export type AppName = (typeof APP_NAMES)[number];

/** Preferred HTTP ports; a taken one is replaced by a free one. */
export const PREFERRED_PORTS: Record<AppName, number> = {
  'subscription-api': 3000,
  'event-ingest': 3001,
  dispatcher: 3002,
  'retry-scheduler': 3003,
  notifier: 3004,
};

export const DEFAULT_RETRY_SCHEDULE = '0,1m,5m,30m,2h';
const SCHEDULE_ENTRY = /^\d+(ms|s|m|h|d)?$/;

/**
 * WEBHOOK_RETRY_SCHEDULE passed through as given (the apps' config owns its validation), the seed's
 * schedule when unset or blank. `warning` is set when it does not look like `0,1m,5m,30m,2h`.
 */
export function resolveRetrySchedule(env: NodeJS.ProcessEnv): { value: string; warning?: string } {
  const raw = env.WEBHOOK_RETRY_SCHEDULE?.trim();
  if (!raw) return { value: DEFAULT_RETRY_SCHEDULE };
  const ok = raw.split(',').every((e) => SCHEDULE_ENTRY.test(e.trim()));
  return ok ? { value: raw } : { value: raw, warning: `WEBHOOK_RETRY_SCHEDULE="${raw}" does not look like "${DEFAULT_RETRY_SCHEDULE}"; passing it through` };
}

export function appEntry(root: string, app: AppName): string {
  return join(root, 'dist', 'apps', app, 'src', 'main.js');
}

/**
 * V8 flags each app is started with (docs/decisions/0009-memory.md). The young generation is sized
 * when the isolate starts, so these cannot come from the app's config at runtime. V8 lets each
 * semi-space grow to 16 MiB (new space 32 MiB) after a burst of allocation and keeps it at rest:
 * 20-30 MiB of RSS for apps that allocate little. The two throughput paths (event-ingest, the
 * dispatcher) keep V8's default; their young generation shrinks again once they are idle.
 * docker-compose.yml and k8s/ start the apps with the same flags (test/deploy checks it).
 */
export const APP_NODE_FLAGS: Record<AppName, readonly string[]> = {
  'subscription-api': ['--max-semi-space-size=2'],
  'event-ingest': [],
  dispatcher: [],
  'retry-scheduler': ['--max-semi-space-size=2'],
  notifier: ['--max-semi-space-size=2'],
};

/** `node` arguments for an app: its V8 flags, then its entry point. */
export function appArgs(root: string, app: AppName): string[] {
  return [...APP_NODE_FLAGS[app], appEntry(root, app)];
}

/** Port for each app: the preferred one when free, a free one otherwise. */
export async function assignPorts(apps: readonly AppName[], preferred: Partial<Record<AppName, number>> = PREFERRED_PORTS): Promise<Record<AppName, number>> {
  const out = {} as Record<AppName, number>;
  for (const app of apps) out[app] = await pickPort(preferred[app]);
  return out;
}

export interface SharedAppEnv {
  infra: InfraEnv;
  retrySchedule: string;
  secretEncryptionKey: string;
  ingestServiceToken: string;
}

/** The environment of one app process: the parent's, the infrastructure, the stack's secrets, its PORT. */
export function buildAppEnv(base: NodeJS.ProcessEnv, shared: SharedAppEnv, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [k, v] of Object.entries(shared.infra)) if (v) env[k] = v;
  return {
    ...env,
    PORT: String(port),
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_SCHEDULE: shared.retrySchedule,
    SECRET_ENCRYPTION_KEY: shared.secretEncryptionKey,
    INGEST_SERVICE_TOKEN: shared.ingestServiceToken,
  };
}

/** `[app] line` — one prefix per app, padded so the columns line up. */
export function prefixLine(app: string, line: string, width = 18): string {
  return `${`[${app}]`.padEnd(width)} ${line}`;
}

export interface Account {
  account_id: string;
  api_key: string;
}

/** The JSON object a `accounts create --json` run printed (the last JSON line of stdout). */
export function parseAccountJson(stdout: string): Account {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean).reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const obj = JSON.parse(line) as Partial<Account>;
      if (typeof obj.account_id === 'string' && typeof obj.api_key === 'string') return { account_id: obj.account_id, api_key: obj.api_key };
    } catch {
      /* not JSON */
    }
  }
  // The whole output may be one pretty-printed object.
  try {
    const obj = JSON.parse(stdout) as Partial<Account>;
    if (typeof obj.account_id === 'string' && typeof obj.api_key === 'string') return { account_id: obj.account_id, api_key: obj.api_key };
  } catch {
    /* fall through */
  }
  throw new Error(`no {"account_id","api_key"} JSON in the CLI output:\n${stdout.slice(-2000)}`);
}

/** HTTP GET status code (0 when nothing answers). */
export function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Wait until GET url answers 200; abort early when the process has exited. */
export async function waitForHttpReady(url: string, options: { timeoutMs?: number; process?: ManagedProcess; what?: string } = {}): Promise<void> {
  const p = options.process;
  await retryUntil(async () => (await httpStatus(url)) === 200, {
    timeoutMs: options.timeoutMs ?? 120_000,
    initialDelayMs: 200,
    maxDelayMs: 1_000,
    what: options.what ?? url,
    abort: () => (p?.exitInfo ? `process exited with ${p.exitInfo.code ?? p.exitInfo.signal}` : undefined),
  });
}

export type StepResult<T> = { skipped: true; reason: string } | { skipped: false; value: T };

/** Run `node <script> ...args` when the script exists (another engineer's CLI), else report it skipped. */
export async function runNodeScriptIfPresent(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { name: string; cwd: string; onLine?: (line: string, stream: 'stdout' | 'stderr') => void; timeoutMs?: number },
): Promise<StepResult<string>> {
  if (!existsSync(script)) return { skipped: true, reason: `${script} does not exist (yet)` };
  const res = await runCommand(process.execPath, [script, ...args], {
    name: options.name,
    cwd: options.cwd,
    env,
    timeoutMs: options.timeoutMs ?? 180_000,
    onLine: options.onLine,
  });
  return { skipped: false, value: res.stdout };
}

export interface RunningApp {
  name: AppName;
  port: number;
  url: string;
  process: ManagedProcess;
}

export function startApp(root: string, app: AppName, port: number, env: NodeJS.ProcessEnv, out: (line: string) => void): RunningApp {
  const proc = processes.spawn(app, process.execPath, appArgs(root, app), {
    cwd: root,
    env,
    onLine: (line) => out(prefixLine(app, line)),
  });
  return { name: app, port, url: `http://127.0.0.1:${port}`, process: proc };
}

export const DEMO_ACCOUNTS = [
  { key: 'DEMO', name: 'Demo Clinic', email: 'demo@clinic.example' },
  { key: 'SECOND', name: 'Second Clinic', email: 'second@clinic.example' },
] as const;

export interface AccountsCache {
  DEMO?: Account;
  SECOND?: Account;
}

/** The stack.env entries, in the documented order (undefined ones are left out by the writer). */
export function stackEnvEntries(o: {
  infra: InfraEnv;
  apiUrl?: string;
  ingestUrl?: string;
  ingestServiceToken: string;
  accounts: AccountsCache;
}): Record<string, string | undefined> {
  return {
    KAFKA_BROKERS: o.infra.KAFKA_BROKERS,
    DATABASE_URL: o.infra.DATABASE_URL,
    SMTP_URL: o.infra.SMTP_URL,
    MAIL_DIR: o.infra.MAIL_DIR,
    API_URL: o.apiUrl,
    INGEST_URL: o.ingestUrl,
    INGEST_SERVICE_TOKEN: o.ingestServiceToken,
    DEMO_ACCOUNT_ID: o.accounts.DEMO?.account_id,
    DEMO_API_KEY: o.accounts.DEMO?.api_key,
    SECOND_ACCOUNT_ID: o.accounts.SECOND?.account_id,
    SECOND_API_KEY: o.accounts.SECOND?.api_key,
  };
}

