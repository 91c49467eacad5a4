/**
 * The local stack of a chaos run, built from the local-stack starters (Kafka, Postgres, SMTP as
 * processes with fixed ports so each can be stopped and started again in place), the migrations,
 * topics, accounts and the five apps as processes, restartable the way a supervisor would.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { startKafka, type KafkaHandle } from '../local-stack/kafka.js';
import { startPostgres, type PostgresHandle } from '../local-stack/postgres.js';
import { startSmtp, type SmtpHandle } from '../local-stack/smtp.js';
import { findFreePort } from '../local-stack/ports.js';
import { killGroup } from '../local-stack/processes.js';
import { repoRoot } from '../local-stack/paths.js';
import { APP_NAMES, buildAppEnv, parseAccountJson, runNodeScriptIfPresent, startApp, waitForHttpReady, type Account, type AppName, type RunningApp } from '../local-stack/apps.js';
import { newEncryptionKey, newServiceToken } from '../local-stack/secrets.js';

/** Settings of every app in a chaos run: a retry schedule in seconds, quick failure detection. */
export const CHAOS_APP_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  KAFKA_LOG_LEVEL: 'nothing',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  WEBHOOK_TIMEOUT_MS: '5000',
  NOTIFIER_RETRY_INITIAL_MS: '1000',
  NOTIFIER_RETRY_MAX_MS: '4000',
  NOTIFIER_POLL_MS: '2000',
  OUTBOX_POLL_MS: '2000',
  API_RATE_LIMIT_PER_SECOND: '500',
  API_RATE_LIMIT_BURST: '1000',
};
export const CHAOS_RETRY_SCHEDULE = '0,1s,2s,2s,2s';

export class ChaosStack {
  kafka!: KafkaHandle;
  postgres!: PostgresHandle;
  smtp!: SmtpHandle;
  readonly apps = new Map<AppName, RunningApp>();
  readonly extras: RunningApp[] = [];
  readonly ingestToken = newServiceToken();
  private readonly secretKey = newEncryptionKey();
  private readonly root = repoRoot();
  private kafkaPorts!: { port: number; controllerPort: number };
  private readonly logs: WriteStream;

  constructor(
    readonly dir: string,
    private readonly say: (m: string) => void,
  ) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    this.logs = createWriteStream(join(dir, 'logs', 'apps.log'), { flags: 'a' });
  }

  get mailDir(): string {
    return join(this.dir, 'mail');
  }

  get env(): NodeJS.ProcessEnv {
    const infra = { KAFKA_BROKERS: this.kafka.brokers, DATABASE_URL: this.postgres.url, SMTP_URL: this.smtp.url, MAIL_DIR: this.mailDir };
    return {
      ...buildAppEnv(process.env, { infra, retrySchedule: CHAOS_RETRY_SCHEDULE, secretEncryptionKey: this.secretKey, ingestServiceToken: this.ingestToken }, 0),
      ...CHAOS_APP_ENV,
    };
  }

  urlOf(app: AppName): string {
    return this.apps.get(app)!.url;
  }

  async startInfrastructure(): Promise<void> {
    const log = (m: string) => this.logs.write(`${m}\n`);
    this.kafkaPorts = { port: await findFreePort(), controllerPort: await findFreePort() };
    const [k, p, s] = await Promise.all([
      startKafka({ dataDir: join(this.dir, 'kafka'), ...this.kafkaPorts, log }),
      startPostgres({ dataDir: join(this.dir, 'postgres'), log }),
      startSmtp({ mailDir: this.mailDir, logFile: join(this.dir, 'logs', 'smtp.log') }),
    ]);
    this.kafka = k;
    this.postgres = p;
    this.smtp = s;
    await this.node('dist/libs/persistence/src/cli/migrate.js', []);
    await this.node('dist/libs/messaging/src/cli/ensure-topics.js', []);
  }

  async createAccount(name: string, email: string): Promise<Account> {
    return parseAccountJson(await this.node('dist/apps/subscription-api/src/cli/main.js', ['accounts', 'create', '--name', name, '--email', email, '--json']));
  }

  async startApps(): Promise<void> {
    await Promise.all(APP_NAMES.map(async (app) => this.apps.set(app, await this.launch(app, await findFreePort()))));
  }

  /** Start an app on `port` and wait for GET /ready. */
  async launch(app: AppName, port: number, label: string = app): Promise<RunningApp> {
    const running = startApp(this.root, app, port, { ...this.env, PORT: String(port) }, (line) => this.logs.write(`${label} ${line}\n`));
    await waitForHttpReady(`${running.url}/ready`, { process: running.process, what: `${label} GET /ready`, timeoutMs: 120_000 });
    return running;
  }

  /** `kill -9` of an app, then the same app on the same port again (a supervisor's restart); resolves when it is ready. */
  async killAndRestart(app: AppName): Promise<void> {
    const old = this.apps.get(app)!;
    await old.process.stop({ signal: 'SIGKILL' });
    const t0 = Date.now();
    this.apps.set(app, await this.launch(app, old.port));
    this.say(`${app} killed; the new process was ready ${((Date.now() - t0) / 1000).toFixed(1)} s after its start`);
  }

  /** One more replica of an app (its own port), for rebalances. */
  async addReplica(app: AppName): Promise<RunningApp> {
    const r = await this.launch(app, await findFreePort(), `${app}#2`);
    this.extras.push(r);
    return r;
  }

  async removeReplica(r: RunningApp): Promise<void> {
    await r.process.stop({ signal: 'SIGTERM', timeoutMs: 20_000 });
    this.extras.splice(this.extras.indexOf(r), 1);
  }

  async stopKafka(): Promise<void> {
    await this.kafka.stop();
  }

  async startKafka(): Promise<void> {
    this.kafka = await startKafka({ dataDir: join(this.dir, 'kafka'), ...this.kafkaPorts, log: (m) => this.logs.write(`${m}\n`) });
  }

  async stopPostgres(): Promise<void> {
    await this.postgres.stop();
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startPostgres({ dataDir: join(this.dir, 'postgres'), port: this.postgres.port, log: (m) => this.logs.write(`${m}\n`) });
  }

  /** SIGSTOP (true) / SIGCONT (false) to a component's whole process group. */
  pause(component: 'kafka' | 'postgres', paused: boolean): void {
    const pid = component === 'kafka' ? this.kafka.process.pid : this.postgres.process.pid;
    killGroup(pid, paused ? 'SIGSTOP' : 'SIGCONT');
  }

  async stop(): Promise<void> {
    for (const c of ['kafka', 'postgres'] as const) {
      try {
        this.pause(c, false);
      } catch {
        /* not started */
      }
    }
    await Promise.all([...this.extras, ...this.apps.values()].map((a) => a.process.stop({ signal: 'SIGTERM', timeoutMs: 10_000 })));
    await Promise.all([this.smtp?.stop(), this.postgres?.stop(), this.kafka?.stop()].map((p) => p?.catch(() => undefined)));
    await new Promise<void>((resolve) => this.logs.end(() => resolve()));
  }

  private async node(script: string, args: string[]): Promise<string> {
    const env = this.env;
    delete env.PORT;
    const res = await runNodeScriptIfPresent(join(this.root, script), args, env, { name: script, cwd: this.root });
    if (res.skipped) throw new Error(res.reason);
    return res.value;
  }
}
