/**
 * Kafka + Postgres + SMTP for `npm start`, `npm run infra`, the jest integration run and CI.
 * Each component is skipped when its URL is already in the environment; Kafka and Postgres run in
 * containers where a Docker engine answers, otherwise as local processes; all start in parallel.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startKafka } from './kafka.js';
import { startPostgres } from './postgres.js';
import { startSmtp, type SmtpHandle } from './smtp.js';
import { detectContainerRuntime, startKafkaContainer, startPostgresContainer } from './containers.js';
import { processes } from './processes.js';
import { defaultLog, type Log } from './paths.js';

export type Component = 'kafka' | 'postgres' | 'smtp';
export const ALL_COMPONENTS: readonly Component[] = ['kafka', 'postgres', 'smtp'];

export interface InfraEnv {
  KAFKA_BROKERS?: string;
  DATABASE_URL?: string;
  SMTP_URL?: string;
  MAIL_DIR?: string;
}

/** How a component was provided. */
export type Source = 'external' | 'process' | 'container';
export type Runtime = 'auto' | 'process' | 'container';

export interface ComponentInfo {
  source: Source;
  /** Wall time to ready, ms (0 for external). */
  startMs: number;
  /** process: where its data/log lives. */
  dataDir?: string;
  /** postgres: true when the database was created empty by this start (always true for containers). */
  fresh?: boolean;
}

export interface InfrastructureOptions {
  /** Root of everything this run writes (data, mail, logs). */
  baseDir: string;
  /** Default <baseDir>/data (kafka/ and postgres/ below it). */
  dataDir?: string;
  /** Default <baseDir>/mail. */
  mailDir?: string;
  /** Default: all three. */
  components?: readonly Component[];
  /** Default: LOCAL_STACK_RUNTIME or 'auto' (containers when an engine answers). */
  runtime?: Runtime;
  /** Default: process.env (the source of KAFKA_BROKERS / DATABASE_URL / SMTP_URL / MAIL_DIR overrides). */
  env?: NodeJS.ProcessEnv;
  log?: Log;
}

export interface Infrastructure {
  env: InfraEnv;
  components: Partial<Record<Component, ComponentInfo>>;
  /** Our own SMTP server (absent when SMTP_URL came from the environment). */
  smtp?: SmtpHandle;
  stop(): Promise<void>;
}

/** Which requested components are already provided by the environment, and which we must start. */
export function planComponents(requested: readonly Component[], env: NodeJS.ProcessEnv): { external: Component[]; start: Component[] } {
  const varOf: Record<Component, keyof InfraEnv> = { kafka: 'KAFKA_BROKERS', postgres: 'DATABASE_URL', smtp: 'SMTP_URL' };
  const external = requested.filter((c) => !!env[varOf[c]]?.trim());
  return { external, start: requested.filter((c) => !external.includes(c)) };
}

export function parseRuntime(value: string | undefined): Runtime {
  if (value === undefined || value === '') return 'auto';
  if (value === 'auto' || value === 'process' || value === 'container') return value;
  throw new Error(`LOCAL_STACK_RUNTIME must be auto, process or container (got "${value}")`);
}

interface Started {
  component: Component;
  source: Source;
  startMs: number;
  dataDir?: string;
  fresh?: boolean;
  env: InfraEnv;
  smtp?: SmtpHandle;
  stop(): Promise<void>;
}

export async function startInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const log = options.log ?? defaultLog;
  const env = options.env ?? process.env;
  const baseDir = resolve(options.baseDir);
  const dataDir = resolve(options.dataDir ?? join(baseDir, 'data'));
  const mailDir = resolve(options.mailDir ?? join(baseDir, 'mail'));
  const requested = options.components ?? ALL_COMPONENTS;
  const { external, start } = planComponents(requested, env);
  mkdirSync(baseDir, { recursive: true });

  const result: InfraEnv = {};
  const components: Partial<Record<Component, ComponentInfo>> = {};
  for (const c of external) {
    log(`[infra] ${c}: using ${c === 'kafka' ? 'KAFKA_BROKERS' : c === 'postgres' ? 'DATABASE_URL' : 'SMTP_URL'} from the environment`);
    components[c] = { source: 'external', startMs: 0 };
    if (c === 'kafka') result.KAFKA_BROKERS = env.KAFKA_BROKERS;
    if (c === 'postgres') result.DATABASE_URL = env.DATABASE_URL;
    if (c === 'smtp') {
      result.SMTP_URL = env.SMTP_URL;
      if (env.MAIL_DIR) result.MAIL_DIR = env.MAIL_DIR;
    }
  }

  const runtime = options.runtime ?? parseRuntime(env.LOCAL_STACK_RUNTIME);
  const needsRuntimeChoice = start.some((c) => c !== 'smtp');
  let useContainers = false;
  if (needsRuntimeChoice && runtime !== 'process') {
    useContainers = await detectContainerRuntime();
    if (runtime === 'container' && !useContainers) throw new Error('LOCAL_STACK_RUNTIME=container but no container engine answers');
    log(useContainers ? '[infra] container engine found: Kafka and Postgres run in containers' : '[infra] no container engine: running Kafka and Postgres as local processes');
  }

  const timed = async (component: Component, source: Source, fn: () => Promise<Omit<Started, 'component' | 'source' | 'startMs'>>): Promise<Started> => {
    const t0 = Date.now();
    const started = await fn();
    const startMs = Date.now() - t0;
    log(`[infra] ${component} ready (${source}) in ${(startMs / 1000).toFixed(1)} s`);
    return { component, source, startMs, ...started };
  };

  const starters: Record<Component, () => Promise<Started>> = {
    kafka: () =>
      useContainers
        ? timed('kafka', 'container', async () => {
            const c = await startKafkaContainer();
            return { env: { KAFKA_BROKERS: c.value }, stop: c.stop };
          })
        : timed('kafka', 'process', async () => {
            const dir = join(dataDir, 'kafka');
            const k = await startKafka({ dataDir: dir, log });
            return { env: { KAFKA_BROKERS: k.brokers }, stop: k.stop, dataDir: dir };
          }),
    postgres: () =>
      useContainers
        ? timed('postgres', 'container', async () => {
            const c = await startPostgresContainer();
            return { env: { DATABASE_URL: c.value }, stop: c.stop, fresh: true };
          })
        : timed('postgres', 'process', async () => {
            const dir = join(dataDir, 'postgres');
            const p = await startPostgres({ dataDir: dir, log });
            return { env: { DATABASE_URL: p.url }, stop: p.stop, dataDir: dir, fresh: p.fresh };
          }),
    smtp: () =>
      timed('smtp', 'process', async () => {
        const s = await startSmtp({ mailDir, logFile: join(baseDir, 'logs', 'smtp.log') });
        return { env: { SMTP_URL: s.url, MAIL_DIR: s.mailDir }, stop: s.stop, smtp: s };
      }),
  };

  const settled = await Promise.allSettled(start.map((c) => starters[c]()));
  const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    // SMTP and Postgres stop quickly; Kafka's controlled shutdown takes longest: all in parallel. Once.
    stopping ??= Promise.all(ok.map((s) => s.stop().catch((err) => log(`[infra] stopping ${s.component} failed: ${(err as Error).message}`)))).then(
      () => undefined,
    );
    return stopping;
  };
  const unregister = processes.onShutdown(stopAll);
  const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${start[i]}: ${(s.reason as Error)?.message ?? s.reason}`] : []));
  if (failures.length > 0) {
    unregister();
    await stopAll();
    throw new Error(`local infrastructure failed to start:\n${failures.join('\n')}`);
  }

  let smtp: SmtpHandle | undefined;
  for (const s of ok) {
    Object.assign(result, s.env);
    components[s.component] = { source: s.source, startMs: s.startMs, dataDir: s.dataDir, fresh: s.fresh };
    if (s.smtp) smtp = s.smtp;
  }
  return {
    env: result,
    components,
    smtp,
    stop: () => {
      unregister();
      return stopAll();
    },
  };
}

/** `KEY=VALUE` lines of the defined entries, in a stable order. */
export function infraEnvLines(env: InfraEnv): string[] {
  return (['KAFKA_BROKERS', 'DATABASE_URL', 'SMTP_URL', 'MAIL_DIR'] as const).flatMap((k) => (env[k] ? [`${k}=${env[k]}`] : []));
}
