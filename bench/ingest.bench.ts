import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEED_EXAMPLES, TOPICS } from '@odis/contracts';
import { KafkaConnection, readTopicToEnd } from '@odis/messaging';
import { processes } from '../scripts/local-stack/processes.js';
import { PROFILE_PRELOAD, summarizeProfile } from './profile.js';
import { cpuRow, cpuSnapshot, TICKS_PER_SECOND, type CpuSnapshot, type Pids } from './sampling.js';
import type { BenchApp, BenchStack } from './stack.js';
import { closedLoop, int, ms, now, percentile, printTable, sleep, summarize, yes } from './stats.js';

/**
 * `POST /v1/events` of event-ingest (a child process, as `npm start` runs it) on the real broker:
 *  1. closed loop, 32 keep-alive clients, one event per request (target ≥ 3,000 events/s);
 *  2. the same with the batch form (arrays of 50 events);
 *  3. open loop at 100 events/s for 20 s: request latency, and send → validated record read back
 *     from `events.call.started` by a consumer in this process.
 * Every row counts the accepted events on the validated topic (the figure cannot count events that
 * were answered 202 but not stored). CPU of event-ingest and the broker is sampled during each row.
 * BENCH_INGEST_PROFILE=1 also profiles event-ingest (V8 CPU profiler, bench/profile.ts) during row 1.
 */
export async function ingestBenchmark(stack: BenchStack, options = { concurrency: 32, events: 30_000, batchSize: 50, batchEvents: 60_000, openRate: 100, openSeconds: 20 }) {
  const tag = Date.now().toString(36);
  const accountId = `acct_bench_ingest_${tag}`;
  const brokerPid = processes.running.find((p) => p.name === 'kafka')?.pid;
  const profileDir = process.env.BENCH_INGEST_PROFILE ? mkdtempSync(join(tmpdir(), 'odis-bench-ingest-prof-')) : null;
  const env: Record<string, string> = {};
  if (profileDir) {
    writeFileSync(join(profileDir, 'preload.cjs'), PROFILE_PRELOAD);
    Object.assign(env, { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(profileDir, 'preload.cjs')}`.trim(), ODIS_BENCH_PROFILE_DIR: profileDir });
  }
  const ingest: BenchApp = await stack.startApp('event-ingest', env);
  const connection = new KafkaConnection({ clientId: 'bench-ingest', brokers: stack.infra.env.KAFKA_BROKERS!.split(',') });
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const { hostname, port } = new URL(ingest.url);
  const auth = `Bearer ${stack.ingestToken}`;

  /** One POST /v1/events on the keep-alive agent: status and body text. */
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ agent, hostname, port, path: '/v1/events', method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const event = (callId: string) => JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: accountId, id: callId, data: { ...SEED_EXAMPLES['call.started'].data, call_id: callId } });

  // Validated records of the bench's account, as this process reads them back (call id → arrival).
  const arrivals = new Map<string, number>();
  const reader = await readTopicToEnd(connection, {
    topic: TOPICS.callStarted,
    follow: true,
    maxWaitTimeMs: 100,
    onMessage: (m) => {
      if (m.key?.toString() !== accountId || !m.value) return;
      const callId = (JSON.parse(m.value.toString('utf8')) as { data: { call_id: string } }).data.call_id;
      if (!arrivals.has(callId)) arrivals.set(callId, now());
    },
  });
  /** Waits until every id of `ids` was read back (at most 30 s); returns how many were. */
  const readBack = async (ids: string[]) => {
    const deadline = Date.now() + 30_000;
    let n = 0;
    while (Date.now() < deadline) {
      n = ids.reduce((a, id) => a + (arrivals.has(id) ? 1 : 0), 0);
      if (n === ids.length) break;
      await sleep(100);
    }
    return n;
  };
  const pids = (): Pids => ({ 'event-ingest': ingest.process.pid, broker: brokerPid, bench: process.pid });
  const cpuCols = (row: Record<string, string>) => ({ 'CPU event-ingest': row['event-ingest'], 'CPU broker': row.broker, 'CPU bench': row.bench, 'machine busy': row['machine busy'] });
  /** CPU-ms of event-ingest per stored event over [a, b] (steadier than events/s on a shared machine). */
  const cpuPerEvent = (a: CpuSnapshot, b: CpuSnapshot, events: number) => {
    const msec = ((b.ticks['event-ingest'] - a.ticks['event-ingest']) / TICKS_PER_SECOND) * 1000;
    return events > 0 && Number.isFinite(msec) ? `${(msec / events).toFixed(3)} ms` : 'n/a';
  };
  const profileMark = async (): Promise<string | null> => {
    if (!profileDir) return null;
    const before = new Set(readdirSync(profileDir));
    process.kill(ingest.process.pid!, 'SIGWINCH');
    for (let i = 0; i < 100; i++) {
      const file = readdirSync(profileDir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
      if (file) return join(profileDir, file);
      await sleep(100);
    }
    return null;
  };

  try {
    // Warm-up (JIT, sockets, the producer's connection), not measured.
    await closedLoop(2_000, options.concurrency, async (i) => void (await post(event(`call_warm-${tag}-${i}`))));
    await closedLoop(100, options.concurrency, async (i) => void (await post(`[${Array.from({ length: options.batchSize }, (_, j) => event(`call_warmb-${tag}-${i}-${j}`)).join(',')}]`)));
    await profileMark();

    // 1. Closed loop, single events.
    const singleIds: string[] = [];
    let singleRejected = 0;
    let cpu0 = cpuSnapshot(pids());
    const single = await closedLoop(options.events, options.concurrency, async (i) => {
      const id = `call_s-${tag}-${i}`;
      const res = await post(event(id));
      if (res.status === 202) singleIds.push(id);
      else singleRejected++;
    });
    let cpu1 = cpuSnapshot(pids());
    const singleCpu = cpuRow(cpu0, cpu1);
    const singleCpuPerEvent = () => cpuPerEvent(cpu0Single, cpu1Single, singleIds.length);
    const [cpu0Single, cpu1Single] = [cpu0, cpu1];
    const profile = await profileMark();
    const singleStored = await readBack(singleIds);

    // 2. Closed loop, batches.
    const batchIds: string[] = [];
    let batchRejected = 0;
    const batches = Math.ceil(options.batchEvents / options.batchSize);
    cpu0 = cpuSnapshot(pids());
    const batch = await closedLoop(batches, options.concurrency, async (i) => {
      const ids = Array.from({ length: options.batchSize }, (_, j) => `call_b-${tag}-${i}-${j}`);
      const res = await post(`[${ids.map(event).join(',')}]`);
      const results = res.status === 200 || res.status === 202 ? (JSON.parse(res.text) as { data: Array<{ status: number }> }).data : [];
      ids.forEach((id, j) => (results[j]?.status === 202 ? batchIds.push(id) : batchRejected++));
    });
    cpu1 = cpuSnapshot(pids());
    const batchCpu = cpuRow(cpu0, cpu1);
    const batchCpuPerEvent = cpuPerEvent(cpu0, cpu1, batchIds.length);
    const batchStored = await readBack(batchIds);

    // 3. Open loop: one event every 1/rate s, whatever the answers do.
    const openIds: string[] = [];
    const sentAt = new Map<string, number>();
    const openLat: number[] = [];
    let openRejected = 0;
    const total = options.openRate * options.openSeconds;
    cpu0 = cpuSnapshot(pids());
    const t0 = now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / options.openRate;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      const id = `call_o-${tag}-${i}`;
      const start = now();
      sentAt.set(id, start);
      inFlight.push(
        post(event(id)).then((res) => {
          openLat.push(now() - start);
          if (res.status === 202) openIds.push(id);
          else openRejected++;
        }),
      );
    }
    await Promise.all(inFlight);
    const openCpu = cpuRow(cpu0, cpuSnapshot(pids()));
    const openStored = await readBack(openIds);
    const toKafka = openIds.filter((id) => arrivals.has(id)).map((id) => arrivals.get(id)! - sentAt.get(id)!);

    const rate = (n: number, wallMs: number) => (n / wallMs) * 1000;
    const s = summarize(single.latencies);
    const b = summarize(batch.latencies);
    const singleRate = rate(singleStored, single.wallMs);
    const batchRate = rate(batchStored, batch.wallMs);
    printTable(`event-ingest POST /v1/events, closed loop (${options.concurrency} keep-alive clients; events counted on ${TOPICS.callStarted})`, [
      { what: 'one event per request', requests: int(options.events), 'accepted (202)': int(singleIds.length), 'on the topic': int(singleStored), rejected: int(singleRejected), 'events/s': int(singleRate), 'p50 request': ms(s.p50), 'p99 request': ms(s.p99), target: '≥ 3,000 events/s', met: yes(singleRate >= 3_000 && singleStored === singleIds.length), 'ingest CPU per event': singleCpuPerEvent(), ...cpuCols(singleCpu) },
      { what: `arrays of ${options.batchSize}`, requests: int(batches), 'accepted (202)': int(batchIds.length), 'on the topic': int(batchStored), rejected: int(batchRejected), 'events/s': int(batchRate), 'p50 request': ms(b.p50), 'p99 request': ms(b.p99), target: '≥ 3,000 events/s', met: yes(batchRate >= 3_000 && batchStored === batchIds.length), 'ingest CPU per event': batchCpuPerEvent, ...cpuCols(batchCpu) },
    ]);
    const row = (what: string, v: number[], target: number) => ({
      what,
      n: int(v.length),
      p50: ms(percentile(v, 50)),
      p95: ms(percentile(v, 95)),
      p99: ms(percentile(v, 99)),
      max: ms(v.length ? Math.max(...v) : NaN),
      target: `p99 ≤ ${target} ms`,
      met: yes(percentile(v, 99) <= target && openStored === openIds.length && openRejected === 0),
    });
    printTable(`event-ingest POST /v1/events, open loop at ${options.openRate} events/s for ${options.openSeconds} s (accepted ${int(openIds.length)}, on the topic ${int(openStored)}, rejected ${int(openRejected)})`, [
      { ...row('request (send → 202)', openLat, 50), ...cpuCols(openCpu) },
      { ...row(`send → validated record read back from ${TOPICS.callStarted}`, toKafka, 100), ...cpuCols(openCpu) },
    ]);
    if (profile) {
      const { owners, areas, functions } = summarizeProfile(profile);
      printTable(`event-ingest CPU profile, closed loop of single events (${profile}): self time by owner`, owners);
      printTable('event-ingest CPU profile: self time by area', areas);
      printTable('event-ingest CPU profile: top functions by self time', functions);
    }
    return { single: { ...s, rate: singleRate }, batch: { ...b, rate: batchRate }, open: summarize(openLat) };
  } finally {
    agent.destroy();
    await reader.stop();
    await ingest.stop();
  }
}
