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
  const procs = procTable();
  let sum = NaN;
  for (const pid of treePids(root, procs)) sum = (Number.isNaN(sum) ? 0 : sum) + (procs.get(pid)?.ticks ?? 0);
  return sum;
}

/** Every live process: parent pid and CPU ticks (own + reaped children's). */
function procTable(): Map<number, { ppid: number; ticks: number }> {
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
  return procs;
}

/** The root and all its descendants (empty when the root is gone). */
export function treePids(root: number | undefined, procs: Map<number, { ppid: number }> = procTable()): number[] {
  if (!root || !procs.has(root)) return [];
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === root) return true;
    return false;
  };
  return [...procs.keys()].filter(inTree);
}

/** Bytes of `Rss:` and `Pss:` in a /proc/<pid>/smaps_rollup text (NaN for a missing field). */
export function parseSmapsRollup(text: string): { rss: number; pss: number } {
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss') };
}

/**
 * RSS and PSS of a process and all its descendants (the postmaster's backends share most pages with
 * it: their RSS sum counts shared pages once per process, PSS splits them, so PSS is the fair sum).
 * NaN when the root is gone or smaps_rollup is unreadable (another user's process).
 */
export function treeMemory(root: number | undefined): { rss: number; pss: number; processes: number } {
  const pids = treePids(root);
  let rss = pids.length ? 0 : NaN;
  let pss = rss;
  for (const pid of pids) {
    try {
      const m = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      rss += m.rss;
      pss += m.pss;
    } catch {
      if (pid === root) return { rss: NaN, pss: NaN, processes: pids.length };
      // a child that exited between the listing and the read
    }
  }
  return { rss, pss, processes: pids.length };
}
