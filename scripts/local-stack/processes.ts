/**
 * Process lifecycle for the local stack: every child is spawned `detached` (its own process group, so a
 * signal reaches the grandchildren too, e.g. the postgres backends behind `runuser`), registered, and
 * killed by group when it is stopped, when this process exits, on SIGINT/SIGTERM and on uncaught errors.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type LineSink = (line: string, stream: 'stdout' | 'stderr') => void;

export interface ManagedSpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr to this file (no pipes: the parent's event loop is not held by them). */
  logFile?: string;
  /** Receive stdout/stderr line by line (pipes). Ignored when logFile is set. */
  onLine?: LineSink;
  /** Default: 'ignore' unless logFile/onLine say otherwise. */
  stdio?: 'ignore' | 'inherit';
}

export interface StopOptions {
  signal?: NodeJS.Signals;
  /** After this long the group gets SIGKILL. Default 10 s. */
  timeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  readonly hasExited: boolean;
  readonly exitInfo: ExitInfo | undefined;
  stop(options?: StopOptions): Promise<ExitInfo>;
}

/** Send a signal to a whole process group; false when the group no longer exists. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM and the like: fall back to the process itself.
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

type ShutdownHook = () => Promise<void>;

/**
 * A tiny detached sidecar that learns the process groups we start (pgid lines on its stdin, `-pgid` when
 * one is gone) and, when its stdin closes — this process ended in any way, even SIGKILL, where no exit
 * handler runs — sends SIGTERM to the groups left, then SIGKILL after 5 s. Set LOCAL_STACK_NO_WATCHDOG=1
 * to do without.
 */
const WATCHDOG_SOURCE = `
const groups = new Set(); let buf = '';
const alive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
const kill = (g, s) => { try { process.kill(-g, s); } catch {} };
process.on('SIGINT', () => {}); process.on('SIGHUP', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) {
  const n = Number(buf.slice(0, i)); buf = buf.slice(i + 1);
  if (n > 0) groups.add(n); else if (n < 0) groups.delete(-n); } });
process.stdin.on('end', () => {
  const left = [...groups].filter(alive); left.forEach((g) => kill(g, 'SIGTERM'));
  const end = Date.now() + 5000;
  const tick = setInterval(() => { const still = left.filter(alive);
    if (still.length === 0 || Date.now() > end) { still.forEach((g) => kill(g, 'SIGKILL')); clearInterval(tick); process.exit(0); } }, 100);
});`;

class Watchdog {
  private stdin: (NodeJS.WritableStream & { unref?: () => void }) | undefined;
  private failed = false;

  private ensure(): NodeJS.WritableStream | undefined {
    if (this.stdin || this.failed || process.env.LOCAL_STACK_NO_WATCHDOG) return this.stdin;
    try {
      const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      child.on('error', () => (this.failed = true));
      child.stdin!.on('error', () => undefined);
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.stdin = child.stdin!;
    } catch {
      this.failed = true;
    }
    return this.stdin;
  }

  watch(pgid: number): void {
    this.ensure()?.write(`${pgid}\n`);
  }

  forget(pgid: number): void {
    this.stdin?.write(`-${pgid}\n`);
  }
}

const watchdog = new Watchdog();

export class ProcessRegistry {
  private readonly live = new Set<ManagedProcess>();
  private readonly hooks: ShutdownHook[] = [];
  private exitHookInstalled = false;
  private stopping: Promise<void> | undefined;

  /** Processes that are registered and have not exited yet. */
  get running(): ManagedProcess[] {
    return [...this.live];
  }

  spawn(name: string, command: string, args: readonly string[], options: ManagedSpawnOptions = {}): ManagedProcess {
    this.installExitHook();
    let fd: number | undefined;
    let stdio: StdioOptions;
    if (options.logFile) {
      mkdirSync(dirname(options.logFile), { recursive: true });
      fd = openSync(options.logFile, 'a');
      stdio = ['ignore', fd, fd];
    } else if (options.onLine) {
      stdio = ['ignore', 'pipe', 'pipe'];
    } else {
      stdio = options.stdio ?? 'ignore';
    }
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio, detached: true });
    if (fd !== undefined) closeSync(fd); // the child has its own copy
    if (child.pid === undefined) {
      // spawn failures (ENOENT) are also emitted asynchronously as 'error': swallow that one, throw now.
      child.once('error', () => undefined);
      throw new Error(`could not start ${name}: ${command} (is it installed?)`);
    }
    if (options.onLine && !options.logFile) {
      const sink = options.onLine;
      createInterface({ input: child.stdout! }).on('line', (l) => sink(l, 'stdout'));
      createInterface({ input: child.stderr! }).on('line', (l) => sink(l, 'stderr'));
    }
    const pid = child.pid;
    watchdog.watch(pid);
    let exitInfo: ExitInfo | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        this.live.delete(managed);
        // Leftovers of the group (grandchildren) go with their leader.
        killGroup(pid, 'SIGKILL');
        watchdog.forget(pid);
        resolve(exitInfo);
      });
      child.once('error', () => {
        if (!exitInfo) {
          exitInfo = { code: -1, signal: null };
          this.live.delete(managed);
          resolve(exitInfo);
        }
      });
    });
    const managed: ManagedProcess = {
      name,
      pid,
      child,
      exited,
      get hasExited() {
        return exitInfo !== undefined;
      },
      get exitInfo() {
        return exitInfo;
      },
      stop: async ({ signal = 'SIGTERM', timeoutMs = 10_000 }: StopOptions = {}) => {
        if (exitInfo) return exitInfo;
        killGroup(pid, signal);
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      },
    };
    this.live.add(managed);
    return managed;
  }

  /** Register an async cleanup (e.g. `pg_ctl stop`, a container stop). Returns an unregister function. */
  onShutdown(hook: ShutdownHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Run the cleanup hooks (latest first), then stop whatever is still running. Idempotent. */
  stopAll(timeoutMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const hook of [...this.hooks].reverse()) {
        await hook().catch((err) => console.error(`[local-stack] cleanup failed: ${(err as Error).message}`));
      }
      this.hooks.length = 0;
      await Promise.all(this.running.map((p) => p.stop({ timeoutMs })));
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Last resort, synchronous (usable in 'exit'): SIGKILL every registered process group. */
  killAllSync(): void {
    for (const p of this.live) killGroup(p.pid, 'SIGKILL');
  }

  private installExitHook(): void {
    if (this.exitHookInstalled) return;
    this.exitHookInstalled = true;
    process.once('exit', () => this.killAllSync());
  }
}

/** The registry shared by everything in scripts/local-stack. */
export const processes = new ProcessRegistry();

export interface ShutdownHandlerOptions {
  /** What to do on the first signal (default: stop every registered process). */
  shutdown?: () => Promise<void>;
  /** Also handle uncaughtException / unhandledRejection (entries yes; inside jest no). */
  handleErrors?: boolean;
  log?: (msg: string) => void;
}

/**
 * SIGINT/SIGTERM/SIGHUP (and optionally uncaught errors) → orderly shutdown, then exit. A second signal
 * while shutting down kills every group at once. `shutdown(code)` runs the same path on demand.
 */
export function installShutdownHandlers(options: ShutdownHandlerOptions = {}): { remove(): void; shutdown(exitCode: number): void } {
  const log = options.log ?? ((m: string) => console.error(m));
  const shutdown = options.shutdown ?? (() => processes.stopAll());
  let shuttingDown = false;
  const finish = (code: number) => {
    if (shuttingDown) {
      log('[local-stack] second signal: killing everything now');
      processes.killAllSync();
      process.exit(code);
    }
    shuttingDown = true;
    const force = setTimeout(() => {
      log('[local-stack] shutdown took too long: killing everything');
      processes.killAllSync();
      process.exit(code);
    }, 60_000);
    force.unref();
    shutdown()
      .catch((err) => log(`[local-stack] shutdown error: ${(err as Error).stack ?? err}`))
      .then(() => processes.stopAll())
      .finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!shuttingDown) log(`[local-stack] ${signal}: stopping…`);
    finish(signal === 'SIGINT' ? 130 : 143);
  };
  const onError = (err: unknown) => {
    log(`[local-stack] fatal: ${(err as Error)?.stack ?? String(err)}`);
    finish(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  if (options.handleErrors) {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
  }
  return {
    remove: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
    shutdown: (exitCode: number) => finish(exitCode),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a short-lived command to completion (registered, so Ctrl-C also reaches it). Rejects with the
 * output when it exits non-zero or outlives `timeoutMs`.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; name?: string; onLine?: LineSink } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const name = options.name ?? command;
  const p = processes.spawn(name, command, args, {
    cwd: options.cwd,
    env: options.env,
    onLine: (line, stream) => {
      if (stream === 'stdout') stdout += line + '\n';
      else stderr += line + '\n';
      options.onLine?.(line, stream);
    },
  });
  const closed = new Promise<void>((resolve) => p.child.once('close', () => resolve()));
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void p.stop({ timeoutMs: 2_000 });
  }, timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  // 'close' comes after the pipes are drained; a grandchild holding them open must not block us.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
  await new Promise((r) => setImmediate(r));
  if (timedOut || code !== 0) {
    const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
    const err = new Error(`${name} ${why}: ${command} ${args.join(' ')}\n${(stderr || stdout).trim().slice(-4000)}`);
    Object.assign(err, { stdout, stderr, code });
    throw err;
  }
  return { code, signal, stdout, stderr };
}
