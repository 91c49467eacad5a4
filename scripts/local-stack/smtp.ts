/** Start/stop/restart the SMTP catcher process (dist/scripts/local-stack/smtp-server.js). */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processes, type ManagedProcess } from './processes.js';
import { canConnect, findFreePort } from './ports.js';
import { retryUntil } from './wait.js';
import { repoRoot, tailFile } from './paths.js';

export interface SmtpOptions {
  mailDir: string;
  port?: number;
  /** stdout/stderr of the server process (default: <mailDir>/../smtp.log). */
  logFile?: string;
  /** Default: <repo>/dist/scripts/local-stack/smtp-server.js (run `npm run build` first). */
  serverScript?: string;
}

export interface SmtpHandle {
  url: string;
  port: number;
  mailDir: string;
  readonly running: boolean;
  stop(): Promise<void>;
  /** Start again on the same port (after stop(), or stop+start when running). */
  restart(): Promise<void>;
}

export function smtpServerScript(root = repoRoot()): string {
  return join(root, 'dist', 'scripts', 'local-stack', 'smtp-server.js');
}

export async function startSmtp(options: SmtpOptions): Promise<SmtpHandle> {
  const mailDir = resolve(options.mailDir);
  mkdirSync(mailDir, { recursive: true });
  const script = options.serverScript ?? smtpServerScript();
  // A rebuild in progress (`rm -rf dist && tsc`) removes it for a few seconds: wait a little before failing.
  const scriptPresent = () =>
    retryUntil(async () => existsSync(script), { timeoutMs: 30_000, initialDelayMs: 200, maxDelayMs: 1_000, what: `${script}` }).catch(() => {
      throw new Error(`${script} not found: run \`npm run build\` first`);
    });
  await scriptPresent();
  const port = options.port ?? (await findFreePort());
  const logFile = options.logFile ?? join(mailDir, '..', 'smtp.log');
  let proc: ManagedProcess | undefined;

  const launch = async () => {
    await scriptPresent();
    // A just-stopped server's port can take a moment to be released: retry the spawn itself.
    await retryUntil(
      async () => {
        const p = processes.spawn('smtp', process.execPath, [script, '--port', String(port), '--dir', mailDir], { logFile });
        try {
          await retryUntil(async () => canConnect(port), {
            timeoutMs: 10_000,
            initialDelayMs: 50,
            maxDelayMs: 500,
            what: `smtp on 127.0.0.1:${port}`,
            abort: () => (p.exitInfo ? `server exited with ${p.exitInfo.code ?? p.exitInfo.signal}` : undefined),
          });
        } catch (err) {
          await p.stop({ timeoutMs: 2_000 });
          throw err;
        }
        proc = p;
        return true;
      },
      { timeoutMs: 20_000, initialDelayMs: 200, maxDelayMs: 1_000, what: `smtp server on port ${port}` },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n--- tail of ${logFile} ---\n${tailFile(logFile, 20)}`);
    });
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (p) await p.stop({ signal: 'SIGTERM', timeoutMs: 5_000 });
  };

  await launch();
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mailDir,
    get running() {
      return proc !== undefined && !proc.hasExited;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
