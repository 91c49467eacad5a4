/**
 * Freezing the test Postgres or Kafka broker with SIGSTOP, as a blackholed or hung server looks to its
 * clients: connections open at the TCP level but nothing answers, and nothing is enforced server-side
 * (statement_timeout included). Needs the servers global-setup started as local processes (it exports
 * ODIS_TEST_PGDATA and ODIS_TEST_KAFKA_DIR); with containers (LOCAL_STACK_RUNTIME=container) these
 * helpers throw.
 *
 * The postmaster forks one process per connection and every backend calls setsid(), so stopping the
 * postmaster or its process group is not enough: every child is stopped too (the postmaster first,
 * so it forks no new ones while we look). SIGCONT is always sent in a finally, and once more at exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The PID of the test cluster's postmaster (first line of <pgdata>/postmaster.pid). */
export function postmasterPid(pgdata = process.env.ODIS_TEST_PGDATA): number {
  if (!pgdata) {
    throw new Error('ODIS_TEST_PGDATA is not set: pausing Postgres needs the local-process cluster of test/support/global-setup.ts (LOCAL_STACK_RUNTIME=process)');
  }
  const pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster PID in ${pgdata}/postmaster.pid`);
  return pid;
}

/** Direct children of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces and parentheses: parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      /* the process exited meanwhile */
    }
  }
  return children;
}

const stopped = new Set<number>();
let exitHookInstalled = false;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The PID of the test Kafka broker: the java process whose command line names its data dir. */
export function kafkaBrokerPid(dir = process.env.ODIS_TEST_KAFKA_DIR): number {
  if (!dir) {
    throw new Error('ODIS_TEST_KAFKA_DIR is not set: pausing Kafka needs the local-process broker of test/support/global-setup.ts (LOCAL_STACK_RUNTIME=process)');
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes('kafka.Kafka') && cmdline.some((arg) => arg.startsWith(dir))) return Number(entry);
    } catch {
      /* the process exited meanwhile */
    }
  }
  throw new Error(`no Kafka broker process found for ${dir}`);
}

/** Stops the postmaster and all its processes; returns a function that resumes them (idempotent). */
export function freezePostgres(pgdata?: string): () => void {
  return freezeProcessTree(postmasterPid(pgdata));
}

/** Stops the Kafka broker (one JVM); returns a function that resumes it (idempotent). */
export function freezeKafka(dir?: string): () => void {
  return freezeProcessTree(kafkaBrokerPid(dir));
}

/** Stops a process and its children (twice looked up); returns a function that resumes them (idempotent). */
function freezeProcessTree(root: number): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a frozen server behind (it would ignore the teardown's stop request).
    process.once('exit', () => {
      for (const pid of stopped) signal(pid, 'SIGCONT');
    });
  }
  const pids: number[] = [];
  const stop = (pid: number) => {
    if (pids.includes(pid)) return;
    signal(pid, 'SIGSTOP');
    pids.push(pid);
    stopped.add(pid);
  };
  try {
    stop(root);
    // Two passes: a child forked just before the root stopped shows up in the second.
    for (let pass = 0; pass < 2; pass++) for (const child of childrenOf(root)) stop(child);
  } catch (err) {
    for (const pid of pids) signal(pid, 'SIGCONT');
    throw err;
  }
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    // Children first, then the root (which then sees them running again).
    for (const pid of [...pids].reverse()) {
      signal(pid, 'SIGCONT');
      stopped.delete(pid);
    }
  };
}

/** Runs `fn` while Postgres is frozen; always resumes it afterwards (also when `fn` throws). */
export async function withPostgresPaused<T>(fn: () => Promise<T>, pgdata?: string): Promise<T> {
  const resume = freezePostgres(pgdata);
  try {
    return await fn();
  } finally {
    resume();
  }
}

/** Freezes Postgres for `ms` milliseconds, then resumes it; resolves once resumed. */
export async function pausePostgres(ms: number, pgdata?: string): Promise<void> {
  await withPostgresPaused(() => new Promise<void>((resolve) => setTimeout(resolve, ms)), pgdata);
}

/** Runs `fn` while the Kafka broker is frozen; always resumes it afterwards (also when `fn` throws). */
export async function withKafkaPaused<T>(fn: () => Promise<T>, dir?: string): Promise<T> {
  const resume = freezeKafka(dir);
  try {
    return await fn();
  } finally {
    resume();
  }
}
