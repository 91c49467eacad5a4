/** The benchmark's HTTP receiver in a child process of its own (bench/dispatch-receiver.ts), driven over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.js';
// ------------------------------------------------------------------------------------------ receiver

export interface ReceiverReport {
  count: number;
  unique: number;
  duplicates: number;
  connections: number;
  times: Float64Array;
  paths: Array<[string, number]>;
  calls: Array<[string, number]>;
}

/** The receiver child process (bench/dispatch-receiver.ts) and its IPC request/response. */
export class ReceiverProcess {
  private seq = 0;
  private readonly pending = new Map<number, (m: Record<string, unknown>) => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m: Record<string, unknown>) => {
      const done = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
      if (done) {
        this.pending.delete(m.id as number);
        done(m);
      }
    });
  }

  static async start(): Promise<ReceiverProcess> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'dispatch-receiver.js');
    const child = fork(script, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('receiver did not start within 10 s')), 10_000);
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m.type === 'listening' && m.port) {
          clearTimeout(timer);
          resolve(m.port);
        }
      });
    });
    return new ReceiverProcess(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private call<T>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`receiver did not answer ${cmd} within 30 s`));
      }, 30_000);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      this.child.send({ id, cmd, ...extra });
    });
  }

  reset(parse = false): Promise<unknown> {
    return this.call('reset', { parse });
  }

  async count(): Promise<number> {
    return (await this.call<{ count: number }>('count')).count;
  }

  report(): Promise<ReceiverReport> {
    return this.call<ReceiverReport>('report');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('close').catch(() => undefined);
    await Promise.race([exited, sleep(3_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Deliveries between the 10th and 90th percentile receive times, divided by that span. */
export function steadyRate(times: ArrayLike<number>): { rate: number; n: number; spanMs: number } {
  const sorted = Float64Array.from(times).sort();
  if (sorted.length < 10) return { rate: NaN, n: sorted.length, spanMs: NaN };
  const lo = Math.floor(0.1 * (sorted.length - 1));
  const hi = Math.floor(0.9 * (sorted.length - 1));
  const spanMs = sorted[hi] - sorted[lo];
  return { rate: spanMs > 0 ? ((hi - lo) / spanMs) * 1000 : NaN, n: hi - lo, spanMs };
}

