/**
 * `npm run infra`: Kafka, Postgres and SMTP for running the apps yourself (IDE, debugger). Data under
 * .local/data, mail under .local/mail; prints the env lines and stays in the foreground until Ctrl-C.
 */
import { join } from 'node:path';
import { startInfrastructure, infraEnvLines } from './infrastructure.js';
import { installShutdownHandlers } from './processes.js';
import { repoRoot, localDir } from './paths.js';
import { writeEnvFile } from './env-file.js';

async function main(): Promise<void> {
  const t0 = Date.now();
  const local = localDir(process.env, repoRoot());
  let stop: (() => Promise<void>) | undefined;
  installShutdownHandlers({ shutdown: async () => stop?.(), handleErrors: true });
  const infra = await startInfrastructure({ baseDir: local, dataDir: join(local, 'data'), mailDir: join(local, 'mail') });
  stop = infra.stop;
  const envFile = join(local, 'infra.env');
  writeEnvFile(envFile, { ...infra.env });
  console.log(`\n${infraEnvLines(infra.env).join('\n')}\n`);
  console.log(`infrastructure ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (also written to ${envFile}); Ctrl-C stops it`);
  await new Promise<never>(() => undefined); // signal handlers end the process
}

main().catch((err) => {
  console.error(`[infra] ${(err as Error).stack ?? err}`);
  process.exit(1);
});
