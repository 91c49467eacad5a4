/**
 * Freezing the test Postgres with SIGSTOP, as a blackholed or hung database looks to its clients:
 * connections open at the TCP level but nothing answers, and nothing is enforced server-side
 * (statement_timeout included). Needs the cluster global-setup started as a local process (it exports
 * ODIS_TEST_PGDATA); with containers (LOCAL_STACK_RUNTIME=container) these helpers throw.
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

/** Stops the postmaster and all its processes; returns a function that resumes them (idempotent). */
export function freezePostgres(pgdata?: string): () => void {
  const postmaster = postmasterPid(pgdata);
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
    stop(postmaster);
    // Two passes: a child forked just before the postmaster stopped shows up in the second.
    for (let pass = 0; pass < 2; pass++) for (const child of childrenOf(postmaster)) stop(child);
  } catch (err) {
    for (const pid of pids) signal(pid, 'SIGCONT');
    throw err;
  }
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    // Children first, then the postmaster (which then sees them running again).
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
