/** The dispatcher under the V8 CPU profiler: a preload that writes profiles, and where their time went. */
import { readFileSync } from 'node:fs';
import { int } from './stats.js';
// ------------------------------------------------------------------------------------------ profile summary

/**
 * Preloaded into the dispatcher (NODE_OPTIONS=--require) when profiling: runs the V8 CPU profiler
 * from the start; on SIGWINCH it writes what was sampled since the start or the previous SIGWINCH to
 * $ODIS_BENCH_PROFILE_DIR/dispatcher-<pid>-<n>.cpuprofile and profiles on (the inspector session of
 * the main thread answers synchronously). SIGWINCH, because Nest's shutdown hooks take SIGUSR2
 * (and SIGUSR1 starts the inspector); its default action is to ignore it.
 */
export const PROFILE_PRELOAD = `
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.env.ODIS_BENCH_PROFILE_DIR;
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
let n = 0;
process.on('SIGWINCH', () => {
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(join(dir, 'dispatcher-' + process.pid + '-' + String(++n).padStart(3, '0') + '.cpuprofile'), JSON.stringify(result.profile));
    session.post('Profiler.start');
  });
});
`;

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/**
 * Who a sample belongs to: the first of these (in this order) found anywhere on its stack. So the
 * node:http and socket work got starts counts as the HTTP attempt; what runs in a bare callback
 * (an I/O completion) counts by its own frames.
 */
export const PROFILE_OWNERS: Array<[string, (cf: CallFrame) => boolean]> = [
  ['HTTP attempt (got, GotWebhookClient)', (cf) => /node_modules\/got\/|got-webhook-client/.test(cf.url)],
  ['Kafka (kafkajs)', (cf) => /node_modules\/kafkajs\//.test(cf.url)],
  ['signing (HMAC)', (cf) => /contracts\/src\/signing/.test(cf.url)],
  ['validation (zod)', (cf) => /node_modules\/zod\//.test(cf.url)],
  ['dispatcher code (fan-out, executor, routing)', (cf) => /dist\/apps\/dispatcher\//.test(cf.url)],
  ['libs/messaging (runner, producer)', (cf) => /dist\/libs\/messaging\//.test(cf.url)],
  ['node:http / net / streams callbacks', (cf) => /^node:(_http|net|internal\/streams|internal\/stream_base)/.test(cf.url)],
];

/**
 * Self time of a .cpuprofile by owner (see PROFILE_OWNERS; GC on its own), by area (npm package,
 * node internals, our apps/libs) and by function.
 */
export function summarizeProfile(file: string, top = 15): { owners: Record<string, string | number>[]; areas: Record<string, string | number>[]; functions: Record<string, string | number>[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const ownerOf = (id: number): string => {
    const leaf = byId.get(id)!;
    if (leaf.functionName.startsWith('(')) return leaf.functionName; // (garbage collector), (program), (idle)
    const stack: CallFrame[] = [];
    for (let cur: number | undefined = id; cur !== undefined && stack.length < 500; cur = parentOf.get(cur)) stack.push(byId.get(cur)!);
    for (const [owner, test] of PROFILE_OWNERS) if (stack.some((cf) => cf.url && test(cf))) return owner;
    return 'other';
  };
  const owners = new Map<string, number>();
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const area = (cf: CallFrame): string => {
    if (!cf.url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
    if (pkg) return `npm ${pkg[1]}`;
    if (cf.url.startsWith('node:')) return cf.url.split('/').slice(0, 2).join('/');
    const ours = /\/dist\/(apps|libs)\/([^/]+)/.exec(cf.url);
    if (ours) return `${ours[1]}/${ours[2]}`;
    return 'other';
  };
  const shortUrl = (url: string) => url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '');
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id);
    if (!cf) continue;
    total += us;
    const a = area(cf);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const o = ownerOf(id);
    owners.set(o, (owners.get(o) ?? 0) + us);
    const fn = `${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const busy = total - (areas.get('(idle)') ?? 0);
  const rows = (m: Map<string, number>, label: string) =>
    [...m]
      .filter(([k]) => k !== '(idle)')
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([k, us]) => ({ [label]: k, 'self ms': int(us / 1000), 'of busy': `${((us / busy) * 100).toFixed(1)} %` }));
  return {
    owners: [{ owner: '(total busy, excluding idle)', 'self ms': int(busy / 1000), 'of busy': '100 %' }, ...rows(owners, 'owner')],
    areas: rows(areas, 'area'),
    functions: rows(fns, 'function'),
  };
}

