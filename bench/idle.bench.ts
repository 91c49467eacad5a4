import { APP_NAMES } from '../scripts/local-stack/apps.js';
import { processes } from '../scripts/local-stack/processes.js';
import type { BenchApp, BenchStack } from './stack.js';
import { treeMemory, treeTicks, TICKS_PER_SECOND } from './sampling.js';
import { now, printTable, sleep } from './stats.js';

/**
 * Cost at rest (issue 10): all five apps on the local stack, nothing to do. After every /ready is
 * green and a warm-up, CPU-seconds per second of each app, the broker and Postgres (postmaster and
 * its backends) over a window. Targets: the five apps together ≤ 0.02, Postgres ≤ 0.01.
 * At the end of the window, RSS and PSS of the same process trees (from /proc/<pid>/smaps_rollup).
 * Target: each app ≤ 80 MiB RSS at rest.
 */
export async function idleBenchmark(stack: BenchStack, options = { warmupMs: Number(process.env.IDLE_WARMUP_MS ?? 20_000), windowMs: Number(process.env.IDLE_WINDOW_MS ?? 60_000) }) {
  const apps: BenchApp[] = [];
  try {
    for (const name of APP_NAMES) apps.push(await stack.startApp(name));
    await sleep(options.warmupMs);
    const groups: Record<string, number | undefined> = {};
    for (const app of apps) groups[app.name] = app.process.pid;
    groups['Kafka broker'] = processes.running.find((p) => p.name === 'kafka')?.pid;
    groups.Postgres = processes.running.find((p) => p.name === 'postgres')?.pid;

    const sample = () => ({ at: now(), ticks: Object.fromEntries(Object.entries(groups).map(([k, pid]) => [k, treeTicks(pid)])) });
    const a = sample();
    await sleep(options.windowMs);
    const b = sample();
    const seconds = (b.at - a.at) / 1000;
    const rate = (name: string) => (b.ticks[name] - a.ticks[name]) / TICKS_PER_SECOND / seconds;
    const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a (not our process)');

    const appsTotal = apps.reduce((sum, app) => sum + rate(app.name), 0);
    const rows: Record<string, string>[] = apps.map((app) => ({ process: app.name, 'CPU-s/s': fmt(rate(app.name)), target: '-', verdict: '-' }));
    rows.push({ process: 'five apps together', 'CPU-s/s': fmt(appsTotal), target: '≤ 0.020', verdict: verdict(appsTotal, 0.02) });
    rows.push({ process: 'Kafka broker', 'CPU-s/s': fmt(rate('Kafka broker')), target: '-', verdict: '-' });
    const pg = rate('Postgres');
    rows.push({ process: 'Postgres (postmaster + children)', 'CPU-s/s': fmt(pg), target: '≤ 0.010', verdict: verdict(pg, 0.01) });
    printTable(`idle: CPU at rest over ${seconds.toFixed(0)} s after all /ready green + ${(options.warmupMs / 1000).toFixed(0)} s warm-up (1 = one core)`, rows);

    const memory = Object.fromEntries(Object.entries(groups).map(([k, pid]) => [k, treeMemory(pid)]));
    printTable(`idle: memory at rest, after the CPU window (MiB; process and its children, from /proc/<pid>/smaps_rollup)`, memoryRows(memory, apps.map((a) => a.name)));
    return { apps: Object.fromEntries(apps.map((app) => [app.name, rate(app.name)])), appsTotal, broker: rate('Kafka broker'), postgres: pg, memory };
  } finally {
    for (const app of apps.reverse()) await app.stop();
  }
}

const verdict = (v: number, max: number) => (!Number.isFinite(v) ? 'n/a' : v <= max ? 'met' : 'NOT met');

export const APP_RSS_TARGET_MIB = 80;
const MiB = 2 ** 20;

/** One row per process: RSS and PSS in MiB; the apps against the RSS target, then the apps' sum. */
export function memoryRows(memory: Record<string, { rss: number; pss: number; processes: number }>, appNames: readonly string[]): Record<string, string>[] {
  const mib = (v: number) => (Number.isFinite(v) ? (v / MiB).toFixed(1) : 'n/a (not our process)');
  const rows = Object.entries(memory).map(([name, m]) => {
    const isApp = appNames.includes(name);
    return {
      process: m.processes > 1 ? `${name} (${m.processes} processes)` : name,
      'RSS MiB': mib(m.rss),
      'PSS MiB': mib(m.pss),
      target: isApp ? `RSS ≤ ${APP_RSS_TARGET_MIB}` : '-',
      verdict: isApp ? verdict(m.rss / MiB, APP_RSS_TARGET_MIB) : '-',
    };
  });
  const sum = (key: 'rss' | 'pss') => appNames.reduce((s, n) => s + (memory[n]?.[key] ?? NaN), 0);
  rows.push({ process: 'five apps together', 'RSS MiB': mib(sum('rss')), 'PSS MiB': mib(sum('pss')), target: '-', verdict: '-' });
  return rows;
}
