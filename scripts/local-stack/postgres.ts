/**
 * A throwaway PostgreSQL cluster from the server binaries (/usr/lib/postgresql/<v>/bin). initdb and the
 * server refuse to run as root, so as root they run as the `postgres` OS user (runuser) and the data dir
 * is handed to that user.
 */
import { existsSync, mkdirSync, readdirSync, statSync, chmodSync, chownSync, openSync, closeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { processes, runCommand, type ManagedProcess } from './processes.js';
import { findFreePort } from './ports.js';
import { retryUntil } from './wait.js';
import { defaultLog, tailFile, type Log } from './paths.js';

export const DEFAULT_DATABASE = 'odis_webhooks';

/** PG_BIN, else the newest /usr/lib/postgresql/<v>/bin with initdb, else the dir of `initdb` on PATH. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PG_BIN && existsSync(join(env.PG_BIN, 'initdb'))) return env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0]!, 'bin');
  }
  try {
    const found = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    if (found) return dirname(found);
  } catch {
    /* not on PATH */
  }
  throw new Error('PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql');
}

export interface PgUser {
  uid: number;
  gid: number;
}

/** The `postgres` OS user when we are root (the server refuses root), otherwise undefined (run as ourselves). */
export function postgresOsUser(): PgUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root but there is no `postgres` OS user (apt-get install -y postgresql creates it)');
  }
}

/** [command, args] that runs `bin` as the postgres user when needed. */
export function asPgUser(user: PgUser | undefined, bin: string, args: string[]): [string, string[]] {
  return user ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/** postgres server arguments for a fast, throwaway, loopback-only cluster. */
export function postgresServerArgs(o: { pgdata: string; port: number; socketDir: string }): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(o.port),
    unix_socket_directories: o.socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '128MB',
    logging_collector: 'off',
    log_min_messages: 'warning',
  };
  return ['-D', o.pgdata, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** As root: every ancestor of `dir` must be searchable by the postgres user; add o+x where it lacks. */
function makeTraversable(dir: string, log: Log): void {
  let d = dirname(resolve(dir));
  while (d !== dirname(d)) {
    const st = statSync(d);
    if ((st.mode & 0o001) === 0) {
      chmodSync(d, st.mode | 0o001);
      log(`[postgres] made ${d} searchable (o+x) for the postgres OS user`);
    }
    d = dirname(d);
  }
}

function chownTree(dir: string, user: PgUser): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, user);
    else chownSync(p, user.uid, user.gid);
  }
}

export interface PostgresOptions {
  /** Cluster in <dataDir>/pgdata, sockets and postgres.log in <dataDir>; an existing cluster is reused. */
  dataDir: string;
  port?: number;
  database?: string;
  binDir?: string;
  readyTimeoutMs?: number;
  log?: Log;
}

export interface PostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  /** True when this call ran initdb (an empty database). */
  fresh: boolean;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const log = options.log ?? defaultLog;
  const bin = options.binDir ?? findPostgresBinDir();
  const dataDir = resolve(options.dataDir);
  const pgdata = join(dataDir, 'pgdata');
  const logFile = join(dataDir, 'postgres.log');
  const database = options.database ?? DEFAULT_DATABASE;
  const user = postgresOsUser();
  // Unix socket paths are limited to ~107 bytes: fall back to /tmp for deep data dirs.
  const socketDir = dataDir.length > 80 ? '/tmp' : dataDir;

  mkdirSync(dataDir, { recursive: true });
  closeSync(openSync(logFile, 'a'));
  if (user) {
    makeTraversable(dataDir, log);
    chownTree(dataDir, user);
  }

  const fresh = !existsSync(join(pgdata, 'PG_VERSION'));
  if (fresh) {
    const [cmd, args] = asPgUser(user, join(bin, 'initdb'), ['-D', pgdata, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await runCommand(cmd, args, { name: 'initdb', timeoutMs: 120_000 });
  } else {
    log(`[postgres] reusing cluster in ${pgdata}`);
  }

  const port = options.port ?? (await findFreePort());
  // The server runs in the foreground of its own process group (not `pg_ctl start`, which would detach
  // it from us), so it dies with this process even on SIGKILL paths; `pg_ctl stop -m fast` stops it.
  const [cmd, args] = asPgUser(user, join(bin, 'postgres'), postgresServerArgs({ pgdata, port, socketDir }));
  const proc = processes.spawn('postgres', cmd, args, { logFile });

  const stop = async () => {
    if (proc.hasExited) return;
    const [c, a] = asPgUser(user, join(bin, 'pg_ctl'), ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '20']);
    await runCommand(c, a, { name: 'pg_ctl stop', timeoutMs: 30_000 }).catch(() => undefined);
    await proc.stop({ signal: 'SIGINT', timeoutMs: 10_000 });
  };

  try {
    await retryUntil(
      async () => {
        const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 });
        try {
          await client.connect();
          await client.query('select 1');
          const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
          if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      {
        timeoutMs: options.readyTimeoutMs ?? 60_000,
        initialDelayMs: 100,
        maxDelayMs: 1_000,
        what: `postgres on 127.0.0.1:${port}`,
        abort: () => (proc.exitInfo ? `server exited with ${proc.exitInfo.code ?? proc.exitInfo.signal}` : undefined),
      },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- tail of ${logFile} ---\n${tailFile(logFile, 30)}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, port, dataDir, fresh, process: proc, stop };
}
