import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { RetrySchedule } from '@odis/config';
import { DeliveryJobCodec, TOPICS, type DeliveryJob } from '@odis/contracts';
import { ConsumerRunner, KafkaConnection, Outcome } from '@odis/messaging';
import { deliveryJobFixture } from '@odis/testing';
import type { BenchStack } from './stack.js';
import { ms, printTable, summarize } from './stats.js';

const { Partitioners } = kafkajs;

export interface SchedulerBenchOptions {
  deliveries: number;
  /** Short tier delays, so the run takes seconds: tier n holds attempt n for delay n. */
  schedule: string;
  /** Extra env of the scheduler process (e.g. RETRY_SCHEDULER_PARTITION_CONCURRENCY). */
  env?: Record<string, string>;
}

interface ProcSample {
  at: number;
  cpuTicks: number;
  rssBytes: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime+stime (ticks) and VmRSS of a process, from /proc; null where /proc is unavailable. */
function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return { at: performance.now(), cpuTicks, rssBytes: rssKb * 1024 };
  } catch {
    return null;
  }
}

function cpuPercent(a: ProcSample | null, b: ProcSample | null): string {
  if (!a || !b || b.at <= a.at) return 'n/a';
  return `${(((b.cpuTicks - a.cpuTicks) / TICKS_PER_SECOND / ((b.at - a.at) / 1000)) * 100).toFixed(1)} %`;
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : 'n/a');
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/**
 * retry-scheduler (its own process, as `npm start` runs it): park N deliveries across the four tiers,
 * each due exactly its tier's delay after it was written (as the dispatcher writes them), and
 * measure how late after its due time each reaches webhooks.deliveries (seen by a consumer in this
 * process: the figure includes that consumer's fetch latency), and the scheduler's CPU and RSS
 * while the deliveries wait and while they fire. Target: p99 ≤ 1 s.
 */
export async function schedulerBenchmark(stack: BenchStack, options: SchedulerBenchOptions = {
    deliveries: Number(process.env.BENCH_SCHEDULER_DELIVERIES ?? 10_000),
    schedule: process.env.BENCH_SCHEDULER_SCHEDULE ?? '0,6s,8s,10s,12s',
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('RETRY_SCHEDULER_')) as Array<[string, string]>),
  }) {
  const schedule = RetrySchedule.parse(options.schedule);
  const brokers = stack.infra.env.KAFKA_BROKERS!.split(',');
  const connection = new KafkaConnection({ clientId: 'bench-scheduler', brokers, logLevel: 'error' });
  const tag = randomBytes(4).toString('hex');
  const schedulerGroup = `bench-retry-scheduler-${tag}`;
  const collectorGroup = `bench-deliveries-${tag}`;

  // Both groups start at the current end of their topics (nothing of other benchmarks is replayed).
  const admin = connection.kafka.admin();
  await admin.connect();
  for (const [group, topics] of [
    [schedulerGroup, schedule.topics],
    [collectorGroup, [TOPICS.deliveries]],
  ] as const) {
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId: group, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
    }
  }
  await admin.disconnect();

  const scheduler = await stack.startApp('retry-scheduler', { WEBHOOK_RETRY_SCHEDULE: options.schedule, RETRY_SCHEDULER_GROUP: schedulerGroup, ...options.env });
  const pid = scheduler.process.pid;
  const due = new Map<string, number>();
  const lateness: number[] = [];
  let early = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  const collector = new ConsumerRunner(connection, {
    groupId: collectorGroup,
    topics: [TOPICS.deliveries],
    partitionsConsumedConcurrently: 8,
    partitionConcurrency: 64,
    maxWaitTimeMs: 50,
    waitForAssignment: true,
    handler: async (m) => {
      const now = Date.now();
      const job = JSON.parse(m.value!.toString('utf8')) as DeliveryJob;
      const dueAt = due.get(job.delivery_id);
      if (dueAt === undefined) return Outcome.done();
      if (seen.has(job.delivery_id)) {
        duplicates++;
        return Outcome.done();
      }
      seen.add(job.delivery_id);
      if (now < dueAt) early++;
      lateness.push(now - dueAt);
      return Outcome.done();
    },
  });

  const producer = connection.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  try {
    await collector.start();
    await producer.connect();
    // Wait until the scheduler owns its partitions (its /ready says so).
    for (let i = 0; i < 600; i++) {
      const res = await fetch(`${scheduler.url}/ready`).catch(() => null);
      if (res?.status === 200) break;
      await sleep(100);
    }
    const idle = sampleProc(pid);
    await sleep(2_000);
    const idleEnd = sampleProc(pid);

    // Park: N deliveries, round-robin over the tiers, written in batches of 250 per tier.
    const perTier = new Map<number, DeliveryJob[]>();
    for (let i = 0; i < options.deliveries; i++) {
      const tier = schedule.tiers[i % schedule.tiers.length]!;
      const id = `${tag}-${i}`;
      const job = deliveryJobFixture({
        delivery_id: `dlv_bench_${id}`,
        event_id: `evt_bench_${id}`,
        account_id: 'acct_bench',
        subscription_id: `wh_bench_${i % 500}`,
        url: 'https://clinic.example.com/hook',
        secret_encrypted: 'v1.bench',
        body: '{"event":"call.started","timestamp":"2024-01-15T10:30:00Z","data":{"call_id":"call_abc123"}}',
        attempt: tier.attempt,
        created_at: new Date().toISOString(),
      });
      (perTier.get(tier.attempt) ?? perTier.set(tier.attempt, []).get(tier.attempt)!).push(job);
    }
    const parkStart = Date.now();
    for (let offset = 0; ; offset += 250) {
      const batches = [...perTier.entries()].map(([attempt, jobs]) => [attempt, jobs.slice(offset, offset + 250)] as const).filter(([, jobs]) => jobs.length > 0);
      if (batches.length === 0) break;
      await producer.sendBatch({
        acks: -1,
        topicMessages: batches.map(([attempt, jobs]) => ({
          topic: schedule.tierForAttempt(attempt)!.topic,
          messages: jobs.map((job) => {
            job.due_at = schedule.dueAt(attempt, Date.now()); // "failed" now: due one tier delay later
            due.set(job.delivery_id, job.due_at);
            return DeliveryJobCodec.encode(job);
          }),
        })),
      });
    }
    const parkedAt = Date.now();
    const firstDue = Math.min(...due.values());

    // While they wait (parked, nothing due yet).
    const waitStart = sampleProc(pid);
    let peakRss = waitStart?.rssBytes ?? NaN;
    while (Date.now() < firstDue - 200) {
      await sleep(200);
      peakRss = Math.max(peakRss, sampleProc(pid)?.rssBytes ?? NaN);
    }
    const waitEnd = sampleProc(pid);

    // While they fire.
    const deadline = Math.max(...due.values()) + 30_000;
    while (seen.size < options.deliveries && Date.now() < deadline) {
      await sleep(200);
      peakRss = Math.max(peakRss, sampleProc(pid)?.rssBytes ?? NaN);
    }
    const fireEnd = sampleProc(pid);

    const l = summarize(lateness);
    printTable(`retry-scheduler: ${options.deliveries} deliveries parked across ${schedule.tiers.length} tiers (${options.schedule}), 1 scheduler process`, [
      {
        what: 'fired after due time (lateness)',
        n: `${l.n}/${options.deliveries}`,
        p50: ms(l.p50),
        p99: ms(l.p99),
        max: ms(l.max),
        'p99 ≤ 1 s': l.p99 <= 1000 ? 'yes' : 'NO',
        early,
        duplicates,
      },
    ]);
    printTable('retry-scheduler process (CPU = share of one core)', [
      { phase: 'idle, joined (2 s)', cpu: cpuPercent(idle, idleEnd), rss: mib(idleEnd?.rssBytes ?? NaN) },
      { phase: `parking ${options.deliveries} (${((parkedAt - parkStart) / 1000).toFixed(1)} s) + waiting until the first is due`, cpu: cpuPercent(idleEnd, waitEnd), rss: mib(waitEnd?.rssBytes ?? NaN) },
      { phase: `waiting only (${(((waitEnd?.at ?? 0) - (waitStart?.at ?? 0)) / 1000).toFixed(1)} s)`, cpu: cpuPercent(waitStart, waitEnd), rss: mib(waitEnd?.rssBytes ?? NaN) },
      { phase: 'firing all', cpu: cpuPercent(waitEnd, fireEnd), rss: `${mib(fireEnd?.rssBytes ?? NaN)} (peak ${mib(peakRss)})` },
    ]);
    return { lateness: l, early, duplicates };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await collector.stop().catch(() => undefined);
    await scheduler.stop();
  }
}
