import { randomBytes } from 'node:crypto';
import { EVENT_TOPICS, SecretBox, TOPICS } from '@odis/contracts';
import { KafkaConnection, MessageProducer, type OutboundMessage } from '@odis/messaging';
import { processes } from '../scripts/local-stack/processes.js';
import type { BenchApp, BenchStack } from './stack.js';
import { groupsAtEnd, produceAll, rawEventMessage, snapshotMessage } from './dispatch.bench.js';
import { ReceiverProcess, steadyRate } from './receiver-process.js';
import { cpuSnapshot, TICKS_PER_SECOND, type CpuSnapshot, type Pids } from './sampling.js';
import { int, ms, now, printTable, secs, sleep, summarize } from './stats.js';

/**
 * Dispatcher replicas (BENCH=replicas, only when named), on the whole local stack:
 *  1. deliveries/s and dispatcher CPU-ms per delivery, 1 event → 1 webhook over 12 accounts (so every
 *     partition works), with one dispatcher, then two (same consumer groups), then one again: back to
 *     back, so the pairs are comparable on a shared machine;
 *  2. a paced 1 → 50 fan-out load (12 accounts × 50 webhooks) during which a second replica joins
 *     (scale-out) and later stops with SIGTERM (scale-in): nothing may be lost, and the delivery
 *     latency (produce → receive) is given per window, the rebalance windows included.
 * The partitions of `events.*` and `webhooks.deliveries` (KAFKA_PARTITIONS, default 6) bound how many
 * replicas get work: docs/benchmarks.md, "Replicas".
 */
export interface ReplicasBenchOptions {
  events: number;
  fanOutRate: number;
  fanOutSeconds: number;
  scaleOutAtS: number;
  scaleInAtS: number;
}

export const defaultReplicasOptions = (): ReplicasBenchOptions => ({ events: 6_000, fanOutRate: 8, fanOutSeconds: 40, scaleOutAtS: 10, scaleInAtS: 25 });

const ACCOUNTS = 12;
const FAN_OUT = 50;

function cpuMs(a: CpuSnapshot, b: CpuSnapshot, names: string[]): number {
  return names.reduce((sum, n) => sum + ((b.ticks[n] - a.ticks[n]) / TICKS_PER_SECOND) * 1000, 0);
}

export async function replicasBenchmark(stack: BenchStack, options: ReplicasBenchOptions = defaultReplicasOptions()) {
  const tag = randomBytes(3).toString('hex');
  const connection = new KafkaConnection({ clientId: 'bench-replicas', brokers: stack.infra.env.KAFKA_BROKERS!.split(','), logLevel: 'error' });
  const producer = new MessageProducer(connection);
  const box = new SecretBox([Buffer.from(stack.secretKey, 'base64')]);
  const brokerPid = processes.running.find((p) => p.name === 'kafka')?.pid;
  const apps: BenchApp[] = [];
  const rx = await ReceiverProcess.start();
  try {
    await producer.connect();
    const one = Array.from({ length: ACCOUNTS }, (_, i) => `acct_rep_${tag}_one${i}`);
    const fan = Array.from({ length: ACCOUNTS }, (_, i) => `acct_rep_${tag}_fan${i}`);
    const subs: OutboundMessage[] = [
      ...one.map((a, i) => snapshotMessage(box, `wh_rep_${tag}_one${i}`, a, `${rx.url}/hooks/one`)),
      ...fan.flatMap((a, i) => Array.from({ length: FAN_OUT }, (_, j) => snapshotMessage(box, `wh_rep_${tag}_fan${i}_${j}`, a, `${rx.url}/hooks/fan/${j}`))),
    ];
    await produceAll(producer, TOPICS.subscriptions, subs);

    const ingestGroup = `bench-rep-ingest-${tag}`;
    const groups = { DISPATCH_FANOUT_GROUP: `bench-rep-fanout-${tag}`, DISPATCH_DELIVERY_GROUP: `bench-rep-deliveries-${tag}` };
    await groupsAtEnd(connection, [
      [ingestGroup, [TOPICS.telephonyRaw]],
      [groups.DISPATCH_FANOUT_GROUP, Object.values(EVENT_TOPICS)],
      [groups.DISPATCH_DELIVERY_GROUP, [TOPICS.deliveries]],
    ]);
    const ingest = await stack.startApp('event-ingest', { INGEST_GROUP: ingestGroup });
    apps.push(ingest);
    // Both replicas: the same groups, a short session (a replica that is gone is noticed soon).
    const dispatcherEnv = { ...groups, KAFKA_SESSION_TIMEOUT_MS: '10000' };
    const d1 = await stack.startApp('dispatcher', dispatcherEnv);
    apps.push(d1);
    let d2: BenchApp | null = null;
    const pids = (): Pids => ({ broker: brokerPid, 'event-ingest': ingest.process.pid, d1: d1.process.pid, d2: d2?.process.pid });
    const dispatchers = () => (d2 ? ['d1', 'd2'] : ['d1']);

    const waitCount = async (expected: number, deadlineMs: number) => {
      const end = Date.now() + deadlineMs;
      while (Date.now() < end) {
        if ((await rx.count()) >= expected) return true;
        await sleep(100);
      }
      return false;
    };
    let seq = 0;
    const oneEvents = (n: number) => Array.from({ length: n }, () => { const i = seq++; return rawEventMessage(one[i % ACCOUNTS]!, `rep-${tag}-${i}`, `call_rep${tag}_${i}`); });

    // Warm-up (JIT, connections): not measured.
    await rx.reset();
    await produceAll(producer, TOPICS.telephonyRaw, oneEvents(1_000));
    if (!(await waitCount(1_000, 90_000))) throw new Error(`warm-up: only ${await rx.count()} of 1000 deliveries arrived`);

    // --- 1. one, two, one replica(s), back to back.
    const rows: Record<string, string | number>[] = [];
    const throughput = async (label: string) => {
      await rx.reset();
      await sleep(500);
      const names = dispatchers();
      const c0 = cpuSnapshot(pids());
      await produceAll(producer, TOPICS.telephonyRaw, oneEvents(options.events));
      const complete = await waitCount(options.events, 120_000);
      const c1 = cpuSnapshot(pids());
      const report = await rx.report();
      const rate = steadyRate(report.times);
      const perDelivery = cpuMs(c0, c1, names) / report.unique;
      const split = names.map((n) => `${n} ${((cpuMs(c0, c1, [n]) / cpuMs(c0, c1, names)) * 100).toFixed(0)} %`).join(', ');
      rows.push({
        replicas: label,
        deliveries: `${int(report.unique)} of ${int(options.events)}${complete ? '' : ' (INCOMPLETE)'}`,
        duplicates: report.duplicates,
        'steady deliveries/s': int(rate.rate),
        'dispatcher CPU-ms per delivery (all replicas)': (perDelivery).toFixed(3),
        'CPU split': split,
        'event-ingest CPU-ms per delivery': (cpuMs(c0, c1, ['event-ingest']) / report.unique).toFixed(3),
        'broker CPU-ms per delivery': (cpuMs(c0, c1, ['broker']) / report.unique).toFixed(3),
      });
    };
    await throughput('1');
    d2 = await stack.startApp('dispatcher', dispatcherEnv);
    apps.push(d2);
    await sleep(5_000); // the group rebalanced to two members
    await throughput('2');
    await d2.stop();
    apps.splice(apps.indexOf(d2), 1);
    d2 = null;
    await sleep(5_000);
    await throughput('1 (again)');
    printTable(`dispatcher replicas, 1 event → 1 webhook, ${int(options.events)} events over ${ACCOUNTS} accounts (KAFKA_PARTITIONS partitions per topic), back to back`, rows);

    // --- 2. scale-out and scale-in during a paced 1 → 50 load.
    await rx.reset(true);
    await sleep(500);
    const producedAt = new Map<string, number>();
    const marks: Record<string, number> = {};
    const t0 = now();
    const total = options.fanOutRate * options.fanOutSeconds;
    const scaling = (async () => {
      await sleep(options.scaleOutAtS * 1000);
      marks.scaleOut = now();
      d2 = await stack.startApp('dispatcher', dispatcherEnv);
      apps.push(d2);
      marks.scaleOutReady = now();
      await sleep(Math.max(0, t0 + options.scaleInAtS * 1000 - now()));
      marks.scaleIn = now();
      await d2.stop();
      apps.splice(apps.indexOf(d2), 1);
      d2 = null;
      marks.scaleInDone = now();
    })();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / options.fanOutRate;
      if (due > now()) await sleep(due - now());
      const callId = `call_fan${tag}_${i}`;
      producedAt.set(callId, now());
      await producer.send(TOPICS.telephonyRaw, [rawEventMessage(fan[i % ACCOUNTS]!, `fan-${tag}-${i}`, callId)]);
    }
    await scaling;
    const expected = total * FAN_OUT;
    // Unique deliveries: the count includes repeats, which would end the wait before the last ones arrived.
    let complete = await waitCount(expected, 120_000);
    for (const end = Date.now() + 120_000; complete && (await rx.report()).unique < expected; ) {
      if (Date.now() > end) complete = false;
      else await sleep(1_000);
    }
    await sleep(2_000);
    const report = await rx.report();
    const settle = 5_000;
    const windows: Array<[string, number, number]> = [
      ['1 replica', t0, marks.scaleOut!],
      ['scale-out: 2nd replica starting, + 5 s', marks.scaleOut!, marks.scaleOutReady! + settle],
      ['2 replicas', marks.scaleOutReady! + settle, marks.scaleIn!],
      ['scale-in: 2nd replica stopping (SIGTERM), + 5 s', marks.scaleIn!, marks.scaleInDone! + settle],
      ['1 replica again', marks.scaleInDone! + settle, Infinity],
    ];
    const latencies = windows.map(() => [] as number[]);
    for (const [callId, t] of report.calls) {
      const p = producedAt.get(callId);
      if (p === undefined) continue;
      const w = windows.findIndex(([, from, to]) => p >= from && p < to);
      if (w >= 0) latencies[w]!.push(t - p);
    }
    printTable(
      `scale-out then scale-in during 1 → ${FAN_OUT} fan-out at ${options.fanOutRate} events/s (${options.fanOutRate * FAN_OUT} deliveries/s) for ${options.fanOutSeconds} s: ${int(report.unique)} of ${int(expected)} deliveries (${int(expected - report.unique)} lost${complete ? '' : ', INCOMPLETE'}), ${int(report.duplicates)} duplicates (same delivery id); 2nd replica ready ${secs(marks.scaleOutReady! - marks.scaleOut!)} after its start, stopped in ${secs(marks.scaleInDone! - marks.scaleIn!)}`,
      windows.map(([label, from, to], i) => {
        const s = summarize(latencies[i]!);
        return { 'window (by produce time)': label, span: Number.isFinite(to) ? secs(to - from) : '-', deliveries: int(s.n), 'p50 latency': ms(s.p50), 'p99 latency': ms(s.p99), max: ms(s.max) };
      }),
    );
    return { rows, lost: expected - report.unique };
  } finally {
    for (const app of [...apps].reverse()) await app.stop().catch(() => undefined);
    await rx.close();
    await producer.disconnect().catch(() => undefined);
  }
}
