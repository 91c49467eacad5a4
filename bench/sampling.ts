/** CPU and memory of the stack's processes, sampled from /proc (a busy co-tenant shows up too). */
import { readdirSync, readFileSync } from 'node:fs';
import { now } from './stats.js';
// ------------------------------------------------------------------------------------------ CPU and memory

export const TICKS_PER_SECOND = 100; // USER_HZ

export function procTicks(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

export function machineTicks(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

export function procMemory(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

export type Pids = Record<string, number | undefined>;
export interface CpuSnapshot {
  at: number;
  ticks: Record<string, number>;
  machine: { busy: number; total: number };
}

export function cpuSnapshot(pids: Pids): CpuSnapshot {
  const ticks: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) ticks[name] = procTicks(pid);
  return { at: now(), ticks, machine: machineTicks() };
}

/** CPU of each process over [a, b] in % of one core, "everything else" and the machine's busy share. */
export function cpuRow(a: CpuSnapshot, b: CpuSnapshot): Record<string, string> {
  const seconds = (b.at - a.at) / 1000;
  const pct = (ticks: number) => (Number.isFinite(ticks) && seconds > 0 ? (ticks / TICKS_PER_SECOND / seconds) * 100 : NaN);
  const row: Record<string, string> = {};
  let ours = 0;
  for (const name of Object.keys(a.ticks)) {
    const v = pct(b.ticks[name] - a.ticks[name]);
    row[name] = Number.isFinite(v) ? `${v.toFixed(0)} %` : 'n/a';
    if (Number.isFinite(v)) ours += v;
  }
  const busy = pct(b.machine.busy - a.machine.busy);
  row['everything else'] = Number.isFinite(busy) ? `${Math.max(0, busy - ours).toFixed(0)} %` : 'n/a';
  row['machine busy'] = Number.isFinite(busy) ? `${busy.toFixed(0)} % of 200 %` : 'n/a';
  return row;
}


/**
 * CPU ticks of a process and all its descendants (found through the parent pids: the postmaster's
 * backends call setsid, so a process group would miss them), counting children already reaped
 * (cutime/cstime) too.
 */
export function treeTicks(root: number | undefined): number {
  if (!root) return NaN;
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // exited between readdir and read
    }
  }
  if (!procs.has(root)) return NaN;
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === root) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, { ticks }] of procs) if (inTree(pid)) sum += ticks;
  return sum;
}
