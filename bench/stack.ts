import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfrastructure, type Infrastructure } from '../scripts/local-stack/infrastructure.js';
import { appArgs, waitForHttpReady, type AppName } from '../scripts/local-stack/apps.js';
import { processes, runCommand, type ManagedProcess } from '../scripts/local-stack/processes.js';
import { pickPort } from '../scripts/local-stack/ports.js';
import { repoRoot } from '../scripts/local-stack/paths.js';

export interface BenchApp {
  name: AppName;
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The whole local stack for a benchmark: real Kafka, Postgres and SMTP (or the ones the environment
 * names), migrations, topics, and the apps as separate processes, exactly as `npm start` runs them.
 */
export class BenchStack {
  readonly secretKey = randomBytes(32).toString('base64');
  readonly ingestToken = randomBytes(16).toString('hex');
  private constructor(
    readonly infra: Infrastructure,
    readonly root: string,
    private readonly baseDir: string,
  ) {}

  static async start(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<BenchStack> {
    const root = repoRoot();
    const baseDir = mkdtempSync(join(tmpdir(), 'odis-bench-'));
    const infra = await startInfrastructure({ baseDir, log });
    const stack = new BenchStack(infra, root, baseDir);
    await stack.runNode(join(root, 'dist/libs/persistence/src/cli/migrate.js'), []);
    await stack.runNode(join(root, 'dist/libs/messaging/src/cli/ensure-topics.js'), []);
    return stack;
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(this.infra.env)) if (v) env[k] = v;
    return {
      ...env,
      SECRET_ENCRYPTION_KEY: this.secretKey,
      INGEST_SERVICE_TOKEN: this.ingestToken,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      LOG_LEVEL: 'warn',
      KAFKA_LOG_LEVEL: 'error',
    };
  }

  async startApp(name: AppName, extraEnv: Record<string, string> = {}): Promise<BenchApp> {
    const port = await pickPort(undefined);
    const proc = processes.spawn(name, process.execPath, appArgs(this.root, name), {
      cwd: this.root,
      env: { ...this.env, PORT: String(port), ...extraEnv },
      onLine: (line) => {
        if (/error|warn/i.test(line)) process.stderr.write(`[${name}] ${line}\n`);
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttpReady(`${url}/ready`, { process: proc, what: `${name} /ready`, timeoutMs: 120_000 });
    return { name, url, process: proc, stop: async () => void (await proc.stop()) };
  }

  async runNode(script: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
    const result = await runCommand(process.execPath, [script, ...args], { cwd: this.root, env: { ...this.env, ...extraEnv }, name: script });
    return result.stdout;
  }

  async stop(): Promise<void> {
    await processes.stopAll();
    await this.infra.stop();
    if (!process.env.ODIS_KEEP_INFRA_DIR) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
