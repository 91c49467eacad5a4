import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_TOPICS, SecretBox, SEED_EXAMPLES, SubscriptionSnapshotCodec, serializeWebhookPayload, TOPICS, type RawTelephonyEvent, type SubscriptionSnapshot } from '@odis/contracts';
import { KafkaConnection, MessageProducer, readTopicToEnd, type OutboundMessage } from '@odis/messaging';
import { loadDispatcherConfig, type DispatcherConfig } from '../apps/dispatcher/src/config/dispatcher.config.js';
import { DeliveryAttempter } from '../apps/dispatcher/src/delivery/delivery-attempter.js';
import { GotWebhookClient } from '../apps/dispatcher/src/delivery/got-webhook-client.js';
import { processes } from '../scripts/local-stack/processes.js';
import type { BenchApp, BenchStack } from './stack.js';
import { PROFILE_PRELOAD, summarizeProfile } from './profile.js';
import { ReceiverProcess, steadyRate, type ReceiverReport } from './receiver-process.js';
import { cpuRow, cpuSnapshot, procMemory, TICKS_PER_SECOND, type CpuSnapshot, type Pids } from './sampling.js';
import { int, mib, ms, now, printTable, secs, sleep, summarize, yes } from './stats.js';

/**
 * event-ingest + dispatcher on the whole local stack (real broker, both apps as child processes, a
 * real HTTP receiver on 127.0.0.1 in a child process of its own, so it never shares an event loop
 * with the producer or the ceiling client):
 *  1. deliveries/s sustained, 1 event → 1 webhook: N raw events produced as fast as possible to
 *     `telephony.events.raw` *while* ingest and dispatcher run (live, not a pre-produced drain);
 *     rate = deliveries between the 10th and 90th percentile receive times / that span.
 *     1b (informational): the same spread over 12 accounts, so all partitions work at once;
 *  2. the same, 1 event → 50 webhooks (50 URL paths on one receiver, one account);
 *  3. produce-to-receive latency at a fixed 200 events/s for 20 s (1 webhook), with a breakdown
 *     by hop (from the ingest's `received_at` and the validated record's timestamp);
 *  4. the ceiling: got POSTs (the dispatcher's own GotWebhookClient, same settings and headers) to
 *     the same receiver at the per-endpoint concurrency the dispatcher used, nothing else in the
 *     path; informational rows for got at 64 and for plain node:http at the same concurrency;
 *  5. dispatcher RSS with 100,000 subscriptions loaded (fresh dispatcher, 5 s after /ready) and its
 *     catch-up time.
 * Every app consumes with fresh consumer groups set to the end of their topics, so nothing of an
 * earlier scenario or benchmark is replayed; each scenario has its own accounts. CPU shares of
 * broker / ingest / dispatcher / receiver / bench and of everything else on the machine are sampled
 * from /proc during 1-4 (a busy co-tenant shows up there), and give the CPU-ms per delivery of the
 * whole stack (broker + ingest + dispatcher + receiver) per throughput scenario. Targets: 1 → 1 at
 * ≥ 0.8 of the got ceiling (issue 10), 1 → 50 at ≥ 0.5. Knobs: BENCH_DISPATCH_EVENTS, _ACCOUNTS,
 * _SPREAD_ACCOUNTS (0 = skip 1b), _FANOUT_EVENTS, _FANOUT_WEBHOOKS, _LATENCY_RATE, _LATENCY_SECONDS,
 * _SUBSCRIPTIONS, _SUBSCRIPTION_ACCOUNTS, _NODE_OPTIONS (V8 flags of the dispatcher only), and
 * BENCH_DISPATCH_PROFILE=1, which runs the dispatcher under the V8 CPU profiler and prints where its
 * time went per scenario (slower: use it to explain a figure, not for the headline).
 */
export interface DispatchBenchOptions {
  /** Scenario 1: raw events (1 webhook each). */
  events: number;
  /** Scenario 1: accounts the events are spread over (each with its own webhook, same receiver URL). */
  accounts: number;
  /**
   * Scenario 1b (informational, 0 = skip): the same events spread over this many accounts, each with
   * one webhook on the same receiver, so every partition of the event topics is busy at once.
   */
  spreadAccounts: number;
  /** Scenario 2: raw events of one account with `fanOutWebhooks` webhooks. */
  fanOutEvents: number;
  fanOutWebhooks: number;
  /** Scenario 3. */
  latencyRate: number;
  latencySeconds: number;
  /** Scenario 5. */
  subscriptions: number;
  subscriptionAccounts: number;
  profile: boolean;
}

const envInt = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

export const defaultDispatchBenchOptions = (): DispatchBenchOptions => ({
  events: envInt('BENCH_DISPATCH_EVENTS', 20_000),
  accounts: envInt('BENCH_DISPATCH_ACCOUNTS', 1),
  spreadAccounts: Number(process.env.BENCH_DISPATCH_SPREAD_ACCOUNTS ?? 12) || 0,
  fanOutEvents: envInt('BENCH_DISPATCH_FANOUT_EVENTS', 2_000),
  fanOutWebhooks: envInt('BENCH_DISPATCH_FANOUT_WEBHOOKS', 50),
  latencyRate: envInt('BENCH_DISPATCH_LATENCY_RATE', 200),
  latencySeconds: envInt('BENCH_DISPATCH_LATENCY_SECONDS', 20),
  subscriptions: envInt('BENCH_DISPATCH_SUBSCRIPTIONS', 100_000),
  subscriptionAccounts: envInt('BENCH_DISPATCH_SUBSCRIPTION_ACCOUNTS', 1_000),
  profile: ['1', 'true', 'yes'].includes(process.env.BENCH_DISPATCH_PROFILE ?? ''),
});

const TARGET = { deliveriesPerSecond: 2_000, ceilingRatio: 0.5, oneToOneCeilingRatio: 0.8, p50Ms: 20, p99Ms: 100, rssBytes: 250 * 1e6 };

/** The processes that make a delivery (the stack): their CPU-ms per delivery is the cost figure. */
const STACK = ['broker', 'event-ingest', 'dispatcher', 'receiver'] as const;

/** CPU time of each process of the snapshots between a and b, ms. */
function cpuMsBetween(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(a.ticks)) out[name] = ((b.ticks[name] - a.ticks[name]) / TICKS_PER_SECOND) * 1000;
  return out;
}


// ------------------------------------------------------------------------------------------ Kafka helpers

/** Consumer groups that start at the current end of their topics (nothing earlier is replayed). */
export async function groupsAtEnd(connection: KafkaConnection, groups: Array<[string, string[]]>): Promise<void> {
  const admin = connection.kafka.admin();
  await admin.connect();
  try {
    for (const [group, topics] of groups) {
      for (const topic of topics) {
        const offsets = await admin.fetchTopicOffsets(topic);
        await admin.setOffsets({ groupId: group, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function snapshotMessage(box: SecretBox, id: string, accountId: string, url: string): OutboundMessage {
  const snapshot: SubscriptionSnapshot = {
    v: 1,
    id,
    account_id: accountId,
    url,
    events: ['call.started', 'call.ended'],
    status: 'active',
    secret_encrypted: box.encrypt(`whsec_bench_${id}`, id),
    version: 1,
    disabled_reason: null,
    updated_at: new Date().toISOString(),
  };
  return SubscriptionSnapshotCodec.encode(snapshot);
}

const EVENT_TIMESTAMP = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export function rawEventMessage(accountId: string, eventId: string, callId: string): OutboundMessage {
  const event: RawTelephonyEvent = {
    event: 'call.started',
    timestamp: EVENT_TIMESTAMP,
    account_id: accountId,
    id: eventId,
    data: { ...SEED_EXAMPLES['call.started'].data, call_id: callId },
  };
  return { key: accountId, value: JSON.stringify(event) };
}

/** Sends records in calls of `chunk` (the producer coalesces them into batches); resolves when all are acknowledged. */
export async function produceAll(producer: MessageProducer, topic: string, messages: OutboundMessage[], chunk = 500): Promise<void> {
  const sends: Promise<void>[] = [];
  for (let i = 0; i < messages.length; i += chunk) sends.push(producer.send(topic, messages.slice(i, i + chunk)));
  await Promise.all(sends);
}

// ------------------------------------------------------------------------------------------ the benchmark

interface ThroughputResult {
  label: string;
  events: number;
  expected: number;
  report: ReceiverReport;
  produceMs: number;
  firstSendToLastReceiveMs: number;
  steady: { rate: number; n: number; spanMs: number };
  cpu: Record<string, string>;
  /** CPU time of each sampled process over the scenario, ms. */
  cpuMs: Record<string, number>;
  peakRss: number;
  fanOut: Record<string, number>;
  complete: boolean;
}

export async function dispatchBenchmark(stack: BenchStack, options: DispatchBenchOptions = defaultDispatchBenchOptions()) {
  const tag = randomBytes(3).toString('hex');
  const brokers = stack.infra.env.KAFKA_BROKERS!.split(',');
  const connection = new KafkaConnection({ clientId: 'bench-dispatch', brokers, logLevel: 'error' });
  const producer = new MessageProducer(connection);
  const bulkProducer = new MessageProducer(connection, { maxBatchSize: 3_000, maxBatchBytes: 2 * 2 ** 20 });
  const box = new SecretBox([Buffer.from(stack.secretKey, 'base64')]);
  const profileDir = options.profile ? mkdtempSync(join(tmpdir(), 'odis-bench-prof-')) : null;
  const profilePreload = profileDir ? join(profileDir, 'cpu-profile-preload.cjs') : null;
  if (profileDir && profilePreload) writeFileSync(profilePreload, PROFILE_PRELOAD);
  const apps: BenchApp[] = [];
  let receiver: ReceiverProcess | null = null;
  const stopApp = async (app: BenchApp | null) => {
    if (!app) return;
    await app.stop();
    apps.splice(apps.indexOf(app), 1);
  };
  const brokerPid = processes.running.find((p) => p.name === 'kafka')?.pid;
  const getStats = async (app: BenchApp) => (await (await fetch(`${app.url}/stats`)).json()) as {
    routing: { caught_up_at: number | null; subscriptions: number };
    fan_out: Record<string, number>;
    deliveries: Record<string, number>;
    memory: { rss_bytes: number; heap_used_bytes: number };
  };

  /** A dispatcher with fresh consumer groups that start at the end of their topics. */
  const startDispatcher = async (label: string) => {
    const groups = { fanOut: `bench-fanout-${tag}-${label}`, deliveries: `bench-deliveries-${tag}-${label}` };
    await groupsAtEnd(connection, [
      [groups.fanOut, Object.values(EVENT_TOPICS)],
      [groups.deliveries, [TOPICS.deliveries]],
    ]);
    const env: Record<string, string> = { DISPATCH_FANOUT_GROUP: groups.fanOut, DISPATCH_DELIVERY_GROUP: groups.deliveries };
    // Experiments with V8 flags of the dispatcher only (e.g. --max-semi-space-size=32); DISPATCH_* and
    // WEBHOOK_* settings in the bench's environment reach it anyway (the stack passes the environment on).
    if (process.env.BENCH_DISPATCH_NODE_OPTIONS) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_DISPATCH_NODE_OPTIONS}`.trim();
    // `--cpu-prof` is not allowed in NODE_OPTIONS: a preload runs the inspector's profiler instead.
    if (profileDir) Object.assign(env, { NODE_OPTIONS: `${env.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''} --require ${profilePreload}`.trim(), ODIS_BENCH_PROFILE_DIR: profileDir });
    const startedAt = Date.now();
    const app = await stack.startApp('dispatcher', env);
    apps.push(app);
    return { app, startedAt, readyAt: Date.now(), config: loadDispatcherConfig({ ...stack.env, ...env }) };
  };

  /** With profiling on: the dispatcher writes the profile since its start or the last mark, and profiles on. */
  const profileMark = async (app: BenchApp): Promise<string | null> => {
    if (!profileDir) return null;
    const pid = app.process.pid;
    if (app.process.hasExited) throw new Error(`${app.name} exited (${JSON.stringify(app.process.exitInfo)}) before its profile was taken`);
    const before = new Set(readdirSync(profileDir));
    process.kill(pid, 'SIGWINCH');
    for (let i = 0; i < 100; i++) {
      const file = readdirSync(profileDir).find((f) => !before.has(f) && f.startsWith(`dispatcher-${pid}-`) && f.endsWith('.cpuprofile'));
      if (file) return join(profileDir, file);
      await sleep(100);
    }
    return null;
  };
  const printProfile = (label: string, file: string | null) => {
    if (!profileDir) return;
    if (!file) {
      process.stdout.write(`\n(no CPU profile of the dispatcher for ${label} in ${profileDir})\n`);
      return;
    }
    const { owners, areas, functions } = summarizeProfile(file);
    printTable(`dispatcher CPU profile, ${label} (${file}): self time by owner (first match on the stack)`, owners);
    printTable(`dispatcher CPU profile, ${label}: self time by area`, areas);
    printTable(`dispatcher CPU profile, ${label}: top functions by self time`, functions);
  };

  try {
    receiver = await ReceiverProcess.start();
    const rx = receiver;
    await producer.connect();
    await bulkProducer.connect();

    // --- Subscriptions of scenarios 1-3, on the changelog before the dispatcher starts.
    const acct = (scenario: string, i = 0) => `acct_bench_${tag}_${scenario}${i}`;
    const s1Accounts = Array.from({ length: options.accounts }, (_, i) => acct('s1_', i));
    const s1bAccounts = Array.from({ length: options.spreadAccounts }, (_, i) => acct('s1b_', i));
    const s2Account = acct('s2');
    const s3Account = acct('s3');
    const warmAccount = acct('warm');
    const subs: OutboundMessage[] = [
      ...s1Accounts.map((a, i) => snapshotMessage(box, `wh_bench_${tag}_s1_${i}`, a, `${rx.url}/hooks/s1`)),
      ...s1bAccounts.map((a, i) => snapshotMessage(box, `wh_bench_${tag}_s1b_${i}`, a, `${rx.url}/hooks/s1b`)),
      ...Array.from({ length: options.fanOutWebhooks }, (_, j) => snapshotMessage(box, `wh_bench_${tag}_s2_${j}`, s2Account, `${rx.url}/hooks/s2/${j}`)),
      snapshotMessage(box, `wh_bench_${tag}_s3`, s3Account, `${rx.url}/hooks/s3`),
      snapshotMessage(box, `wh_bench_${tag}_warm`, warmAccount, `${rx.url}/hooks/warm`),
    ];
    await produceAll(producer, TOPICS.subscriptions, subs);

    // --- event-ingest (own group, at the end of the raw topic) and the dispatcher.
    const ingestGroup = `bench-ingest-${tag}`;
    await groupsAtEnd(connection, [[ingestGroup, [TOPICS.telephonyRaw]]]);
    const ingest = await stack.startApp('event-ingest', { INGEST_GROUP: ingestGroup });
    apps.push(ingest);
    const d1 = await startDispatcher('d1');
    const d1Stats0 = await getStats(d1.app);
    const d1Idle = procMemory(d1.app.process.pid);
    for (const id of [`wh_bench_${tag}_s1_0`, `wh_bench_${tag}_s2_0`, `wh_bench_${tag}_s3`]) {
      const res = await fetch(`${d1.app.url}/routing/subscriptions/${id}`);
      if (res.status !== 200) throw new Error(`dispatcher does not route ${id} after start (${res.status})`);
    }
    const perEndpoint = d1.config.DISPATCH_PER_ENDPOINT_CONCURRENCY;
    const pids = (): Pids => ({ broker: brokerPid, 'event-ingest': ingest.process.pid, dispatcher: d1.app.process.pid, receiver: rx.pid, bench: process.pid });

    /** Waits until `expected` requests arrived (bounded: deadline, and no progress for `stallMs`); samples dispatcher RSS. */
    const waitFor = async (expected: number, deadlineMs: number, stallMs = 20_000) => {
      const end = Date.now() + deadlineMs;
      let last = -1;
      let lastChange = Date.now();
      let peakRss = 0;
      while (Date.now() < end) {
        const c = await rx.count();
        peakRss = Math.max(peakRss, procMemory(d1.app.process.pid).rss || 0);
        if (c >= expected) return { complete: true, peakRss };
        if (c !== last) {
          last = c;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > stallMs) break;
        await sleep(100);
      }
      return { complete: false, peakRss };
    };

    // --- Warm-up (JIT, keep-alive connections, producer and consumer fetch sessions): not measured.
    await rx.reset();
    await produceAll(producer, TOPICS.telephonyRaw, Array.from({ length: 1_000 }, (_, i) => rawEventMessage(warmAccount, `w-${tag}-${i}`, `call_w${tag}_${i}`)));
    const warm = await waitFor(1_000, 60_000);
    if (!warm.complete) throw new Error(`warm-up: only ${await rx.count()} of 1000 deliveries arrived`);

    const profiles: Array<[string, string | null]> = [];
    const throughput = async (label: string, messages: OutboundMessage[], expected: number, deadlineMs: number): Promise<ThroughputResult> => {
      await rx.reset();
      await sleep(500);
      const before = await getStats(d1.app);
      await profileMark(d1.app);
      const cpu0 = cpuSnapshot(pids());
      const t0 = now();
      await produceAll(producer, TOPICS.telephonyRaw, messages);
      const produceMs = now() - t0;
      const waited = await waitFor(expected, deadlineMs);
      const cpu1 = cpuSnapshot(pids());
      profiles.push([label, await profileMark(d1.app)]);
      const after = await getStats(d1.app);
      const report = await rx.report();
      let last = NaN;
      for (const t of report.times) if (!(t <= last)) last = t;
      const fanOut: Record<string, number> = {};
      for (const k of ['inline', 'waited', 'handedOff']) fanOut[k] = (after.fan_out[k] ?? 0) - (before.fan_out[k] ?? 0);
      fanOut.failed = (after.deliveries.failed ?? 0) - (before.deliveries.failed ?? 0);
      return {
        label,
        events: messages.length,
        expected,
        report,
        produceMs,
        firstSendToLastReceiveMs: last - t0,
        steady: steadyRate(report.times),
        cpu: cpuRow(cpu0, cpu1),
        cpuMs: cpuMsBetween(cpu0, cpu1),
        peakRss: waited.peakRss,
        fanOut,
        complete: waited.complete,
      };
    };

    // --- 1. 1 event → 1 webhook.
    const s1Messages = Array.from({ length: options.events }, (_, i) => {
      const a = s1Accounts[i % s1Accounts.length];
      return rawEventMessage(a, `s1-${tag}-${i}`, `call_s1${tag}_${i}`);
    });
    const s1 = await throughput(`1 event → 1 webhook (${options.accounts} account${options.accounts > 1 ? 's' : ''})`, s1Messages, options.events, 120_000);

    // --- 1b. The same spread over many accounts (informational).
    let s1b: ThroughputResult | null = null;
    if (s1bAccounts.length > 0) {
      const s1bMessages = Array.from({ length: options.events }, (_, i) => {
        const a = s1bAccounts[i % s1bAccounts.length];
        return rawEventMessage(a, `s1b-${tag}-${i}`, `call_s1b${tag}_${i}`);
      });
      s1b = await throughput(`1 event → 1 webhook (${s1bAccounts.length} accounts, informational)`, s1bMessages, options.events, 120_000);
    }

    // --- 2. 1 event → 50 webhooks.
    const s2Messages = Array.from({ length: options.fanOutEvents }, (_, i) => rawEventMessage(s2Account, `s2-${tag}-${i}`, `call_s2${tag}_${i}`));
    const s2Expected = options.fanOutEvents * options.fanOutWebhooks;
    const s2 = await throughput(`1 event → ${options.fanOutWebhooks} webhooks (1 account)`, s2Messages, s2Expected, 150_000);

    // --- 3. Latency at a fixed rate.
    await rx.reset(true);
    await sleep(1_000);
    const n3 = options.latencyRate * options.latencySeconds;
    const interval = 1000 / options.latencyRate;
    const s3Messages = Array.from({ length: n3 }, (_, i) => rawEventMessage(s3Account, `s3-${tag}-${i}`, `call_s3${tag}_${i}`));
    const sentAt = new Float64Array(n3).fill(NaN);
    const ackedAt = new Float64Array(n3).fill(NaN);
    let sendFailures = 0;
    const cpu3a = cpuSnapshot(pids());
    const start3 = now() + 20;
    const end3 = start3 + options.latencySeconds * 1000 + 10_000;
    let next = 0;
    let maxBehind = 0;
    while (next < n3 && now() < end3) {
      const t = now();
      while (next < n3 && start3 + next * interval <= t) {
        const k = next++;
        maxBehind = Math.max(maxBehind, t - (start3 + k * interval));
        sentAt[k] = now();
        producer.send(TOPICS.telephonyRaw, [s3Messages[k]]).then(
          () => (ackedAt[k] = now()),
          () => sendFailures++,
        );
      }
      await sleep(1);
    }
    const sendSpanMs = now() - start3;
    const w3 = await waitFor(next, 30_000, 10_000);
    const cpu3b = cpuSnapshot(pids());
    const r3 = await rx.report();
    const received = new Map<number, number>();
    const prefix = `call_s3${tag}_`;
    for (const [callId, t] of r3.calls) {
      if (!callId.startsWith(prefix)) continue;
      const k = Number(callId.slice(prefix.length));
      if (!received.has(k)) received.set(k, t);
    }
    // Breakdown by hop: the ingest's received_at (ms) and the validated record's timestamp (ingest producer clock).
    const hops = new Map<number, { ingestAt: number; publishedAt: number }>();
    await readTopicToEnd(connection, {
      topic: TOPICS.callStarted,
      maxWaitTimeMs: 100,
      onMessage: (m) => {
        if (m.key?.toString() !== s3Account || !m.value) return;
        const v = JSON.parse(m.value.toString('utf8')) as { received_at: string; data: { call_id: string } };
        if (!v.data.call_id.startsWith(prefix)) return;
        hops.set(Number(v.data.call_id.slice(prefix.length)), { ingestAt: Date.parse(v.received_at), publishedAt: m.timestamp });
      },
    });
    const lat = { total: [] as number[], ack: [] as number[], toIngest: [] as number[], toPublished: [] as number[], publishedToReceived: [] as number[] };
    for (const [k, t] of received) {
      lat.total.push(t - sentAt[k]);
      if (Number.isFinite(ackedAt[k])) lat.ack.push(ackedAt[k] - sentAt[k]);
      const h = hops.get(k);
      if (h) {
        lat.toIngest.push(h.ingestAt - sentAt[k]);
        lat.toPublished.push(h.publishedAt - sentAt[k]);
        lat.publishedToReceived.push(t - h.publishedAt);
      }
    }
    const s3Cpu = cpuRow(cpu3a, cpu3b);

    const d1Stats1 = await getStats(d1.app);
    const d1After = procMemory(d1.app.process.pid);
    await stopApp(ingest);
    await stopApp(d1.app);

    // --- 4. Ceiling: the dispatcher's got client, same settings, at the per-endpoint concurrency it used.
    const ceiling = async (kind: 'got' | 'node:http', concurrency: number, total: number, maxMs: number) => {
      const body = serializeWebhookPayload(SEED_EXAMPLES['call.started']);
      const base = new DeliveryAttempter({ post: () => Promise.reject(new Error('unused')), close: () => undefined }).buildHeaders(
        { delivery_id: 'dlv_ceiling', event_id: 'evt_ceiling', event_type: 'call.started', attempt: 1, body },
        'whsec_bench_ceiling',
        Date.now(),
      );
      const url = `${rx.url}/hooks/ceiling`;
      let post: (headers: Record<string, string>) => Promise<boolean>;
      let close: () => void;
      if (kind === 'got') {
        const client = new GotWebhookClient({
          timeoutMs: d1.config.WEBHOOK_TIMEOUT_MS,
          allowPrivateTargets: true,
          localAddress: d1.config.WEBHOOK_LOCAL_ADDRESS,
          maxResponseBytes: d1.config.WEBHOOK_MAX_RESPONSE_BYTES,
          maxSocketsPerHost: concurrency,
        });
        post = async (headers) => {
          const out = await client.post(url, body, headers);
          return out.kind === 'response' && out.statusCode === 200;
        };
        close = () => client.close();
      } else {
        // Informational: plain node:http with a keep-alive agent, what got's own overhead costs.
        const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, scheduling: 'lifo' });
        post = (headers) =>
          new Promise<boolean>((resolve) => {
            const req = httpRequest(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: d1.config.WEBHOOK_TIMEOUT_MS }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200));
              res.on('error', () => resolve(false));
            });
            req.on('timeout', () => req.destroy());
            req.on('error', () => resolve(false));
            req.end(body);
          });
        close = () => agent.destroy();
      }
      let errors = 0;
      const run = async (n: number, deadline: number) => {
        let i = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (i < n && Date.now() < deadline) {
              const k = i++;
              if (!(await post({ ...base, 'X-ODIS-Delivery-Id': `dlv_ceiling_${kind}_${concurrency}_${k}` }))) errors++;
            }
          }),
        );
        return i;
      };
      try {
        await run(2_000, Date.now() + 10_000); // warm-up
        errors = 0;
        await rx.reset();
        await sleep(300);
        const cpu0 = cpuSnapshot({ broker: brokerPid, receiver: rx.pid, bench: process.pid });
        const t0 = now();
        const sent = await run(total, Date.now() + maxMs);
        const wallMs = now() - t0;
        const cpu1 = cpuSnapshot({ broker: brokerPid, receiver: rx.pid, bench: process.pid });
        const report = await rx.report();
        return { kind, concurrency, sent, errors, wallMs, clientRate: (sent / wallMs) * 1000, steady: steadyRate(report.times), connections: report.connections, cpu: cpuRow(cpu0, cpu1), cpuMs: cpuMsBetween(cpu0, cpu1) };
      } finally {
        close();
      }
    };
    const c1 = await ceiling('got', perEndpoint, 30_000, 15_000);
    const c2 = await ceiling('got', 64, 30_000, 15_000);
    const c3 = await ceiling('node:http', perEndpoint, 30_000, 15_000);

    // --- 5. Dispatcher RSS with 100,000 subscriptions loaded, and its catch-up.
    const perAccount = Math.ceil(options.subscriptions / options.subscriptionAccounts);
    const bulk: OutboundMessage[] = new Array(options.subscriptions);
    for (let i = 0; i < options.subscriptions; i++) {
      bulk[i] = snapshotMessage(box, `wh_bench_${tag}_m_${i}`, acct('m_', Math.floor(i / perAccount)), `${rx.url}/hooks/m/${i % 100}`);
    }
    const p5 = now();
    await produceAll(bulkProducer, TOPICS.subscriptions, bulk, 1_000);
    const produce5Ms = now() - p5;
    const d2 = await startDispatcher('d2');
    const d2Stats = await getStats(d2.app);
    const d2Profile = await profileMark(d2.app);
    await sleep(5_000);
    const d2Mem = procMemory(d2.app.process.pid);
    const d2Stats2 = await getStats(d2.app);
    await stopApp(d2.app);

    // ------------------------------------------------------------------------------------- tables
    const ratio1 = s1.steady.rate / c1.steady.rate;
    const ratio2 = s2.steady.rate / c1.steady.rate;
    const t3 = summarize(lat.total);
    printTable(`dispatch throughput (raw events produced as fast as possible while event-ingest and dispatcher run; rate over the 10th-90th percentile of receive times; per-endpoint limit ${perEndpoint}, DISPATCH_CONCURRENCY ${d1.config.DISPATCH_CONCURRENCY}, DISPATCH_FANOUT_CONCURRENCY ${d1.config.DISPATCH_FANOUT_CONCURRENCY})`, [s1, s2, ...(s1b ? [s1b] : [])].map((s) => ({
      scenario: s.label,
      events: int(s.events),
      'deliveries received': `${int(s.report.unique)}/${int(s.expected)}${s.complete ? '' : ' (INCOMPLETE)'}`,
      duplicates: s.report.duplicates,
      'produce time': secs(s.produceMs),
      'first send → last receive': secs(s.firstSendToLastReceiveMs),
      'steady deliveries/s': int(s.steady.rate),
      'target ≥ 2,000/s': s === s1b ? '-' : yes(s.steady.rate >= TARGET.deliveriesPerSecond),
      '÷ ceiling': (s.steady.rate / c1.steady.rate).toFixed(2),
      'inline/waited/handed off': `${int(s.fanOut.inline)}/${int(s.fanOut.waited)}/${int(s.fanOut.handedOff)}`,
      'new receiver connections': s.report.connections,
      'dispatcher peak RSS': mib(s.peakRss),
    })));
    const s2Paths = s2.report.paths.filter(([p]) => p.startsWith('/hooks/s2/')).map(([, n]) => n);
    if (s2Paths.length) process.stdout.write(`(1 → ${options.fanOutWebhooks}: ${s2Paths.length} paths received, ${Math.min(...s2Paths)}..${Math.max(...s2Paths)} requests each)\n`);

    printTable(`produce-to-receive latency, ${options.latencyRate} events/s for ${options.latencySeconds} s, 1 webhook (bench clock at send() → receiver clock, same host)`, [
      { hop: 'total: send() → webhook received', n: `${t3.n}/${n3}`, p50: ms(t3.p50), p99: ms(t3.p99), max: ms(t3.max), target: `p50 ≤ ${TARGET.p50Ms} ms, p99 ≤ ${TARGET.p99Ms} ms`, verdict: `${yes(t3.p50 <= TARGET.p50Ms)} / ${yes(t3.p99 <= TARGET.p99Ms)}` },
      ...(
        [
          ['send() → raw record acknowledged (acks=all)', lat.ack],
          ['send() → event-ingest handles it (received_at, 1 ms resolution)', lat.toIngest],
          ['send() → validated event produced (record timestamp, 1 ms)', lat.toPublished],
          ['validated event produced → webhook received', lat.publishedToReceived],
        ] as const
      ).map(([hop, values]) => {
        const s = summarize([...values]);
        return { hop, n: String(s.n), p50: ms(s.p50), p99: ms(s.p99), max: ms(s.max), target: '', verdict: '' };
      }),
    ]);
    process.stdout.write(
      `(sent ${next} in ${secs(sendSpanMs)}, pacing at most ${maxBehind.toFixed(1)} ms behind schedule, ${sendFailures} send failures, ${w3.complete ? 'all received' : 'NOT all received'}, receiver saw ${r3.unique} unique / ${r3.duplicates} duplicate)\n`,
    );

    printTable('ceiling: POSTs from the bench process straight to the same receiver, nothing else in the path (the headline is the dispatcher\'s own GotWebhookClient, same settings and headers, at the per-endpoint limit it used)', [c1, c2, c3].map((c) => ({
      client: c.kind === 'got' ? 'got (GotWebhookClient)' : 'node:http, keep-alive agent',
      concurrency: `${c.concurrency}${c.kind === 'got' && c.concurrency === perEndpoint ? ' (= per-endpoint limit used: the ceiling)' : ' (informational)'}`,
      requests: int(c.sent),
      errors: c.errors,
      'client req/s': int(c.clientRate),
      'steady req/s at receiver': int(c.steady.rate),
      'new connections': c.connections,
      'bench CPU': c.cpu.bench,
      'receiver CPU': c.cpu.receiver,
      'everything else': c.cpu['everything else'],
    })));

    const cpuColumns = ['broker', 'event-ingest', 'dispatcher', 'receiver', 'bench', 'everything else', 'machine busy'];
    const cpuLine = (scenario: string, cpu: Record<string, string>) => ({ scenario, ...Object.fromEntries(cpuColumns.map((c) => [c, cpu[c] ?? '-'])) });
    printTable('CPU during each scenario (share of one core; 2-core machine; "everything else" = machine busy minus the processes listed: Postgres, SMTP, other users of the machine)', [
      cpuLine(s1.label, s1.cpu),
      cpuLine(s2.label, s2.cpu),
      ...(s1b ? [cpuLine(s1b.label, s1b.cpu)] : []),
      cpuLine(`latency, ${options.latencyRate} events/s`, s3Cpu),
      cpuLine(`ceiling, concurrency ${c1.concurrency} (apps stopped)`, c1.cpu),
    ]);

    const perDelivery = (cpuMs: Record<string, number>, n: number, names: readonly string[]) => names.reduce((sum, name) => sum + (cpuMs[name] ?? NaN), 0) / n;
    const msEach = (v: number) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : 'n/a');
    printTable('CPU-ms per delivery (CPU time over the scenario ÷ deliveries received; "stack" = broker + event-ingest + dispatcher + receiver; the ceiling row is got alone in the bench process, per request)', [
      ...[s1, s2, ...(s1b ? [s1b] : [])].map((s) => ({
        scenario: s.label,
        deliveries: int(s.report.unique),
        stack: msEach(perDelivery(s.cpuMs, s.report.unique, STACK)),
        dispatcher: msEach(perDelivery(s.cpuMs, s.report.unique, ['dispatcher'])),
        broker: msEach(perDelivery(s.cpuMs, s.report.unique, ['broker'])),
        'event-ingest': msEach(perDelivery(s.cpuMs, s.report.unique, ['event-ingest'])),
        receiver: msEach(perDelivery(s.cpuMs, s.report.unique, ['receiver'])),
      })),
      {
        scenario: `ceiling: got (GotWebhookClient) at ${c1.concurrency}, per request`,
        deliveries: int(c1.sent),
        stack: '-',
        dispatcher: `${msEach(perDelivery(c1.cpuMs, c1.sent, ['bench']))} (bench process = got)`,
        broker: '-',
        'event-ingest': '-',
        receiver: msEach(perDelivery(c1.cpuMs, c1.sent, ['receiver'])),
      },
    ]);

    printTable('dispatcher memory (VmRSS from /proc) and start', [
      {
        state: `after start, ${int(d1Stats0.routing.subscriptions)} subscriptions`,
        rss: mib(d1Idle.rss),
        'peak (VmHWM)': mib(d1Idle.hwm),
        heap: mib(d1Stats0.memory.heap_used_bytes),
        'spawn → caught up': d1Stats0.routing.caught_up_at ? secs(d1Stats0.routing.caught_up_at - d1.startedAt) : 'n/a',
        'spawn → /ready': secs(d1.readyAt - d1.startedAt),
        target: '',
        verdict: '',
      },
      { state: 'after scenarios 1-3', rss: mib(d1After.rss), 'peak (VmHWM)': mib(d1After.hwm), heap: mib(d1Stats1.memory.heap_used_bytes), 'spawn → caught up': '', 'spawn → /ready': '', target: '', verdict: '' },
      {
        state: `fresh start, ${int(d2Stats.routing.subscriptions)} subscriptions (${int(options.subscriptions)} over ${int(options.subscriptionAccounts)} accounts produced in ${secs(produce5Ms)}), 5 s after ready`,
        rss: `${mib(d2Mem.rss)} (${(d2Mem.rss / 1e6).toFixed(0)} MB)`,
        'peak (VmHWM)': mib(d2Mem.hwm),
        heap: mib(d2Stats2.memory.heap_used_bytes),
        'spawn → caught up': d2Stats.routing.caught_up_at ? secs(d2Stats.routing.caught_up_at - d2.startedAt) : 'n/a',
        'spawn → /ready': secs(d2.readyAt - d2.startedAt),
        target: '≤ 250 MB',
        verdict: yes(d2Mem.rss <= TARGET.rssBytes),
      },
    ]);

    printTable('dispatch targets', [
      { what: 'deliveries/s, 1 event → 1 webhook', figure: int(s1.steady.rate), target: '≥ 2,000', verdict: yes(s1.steady.rate >= TARGET.deliveriesPerSecond) },
      { what: `deliveries/s, 1 event → ${options.fanOutWebhooks} webhooks`, figure: int(s2.steady.rate), target: '≥ 2,000', verdict: yes(s2.steady.rate >= TARGET.deliveriesPerSecond) },
      { what: `1 → 1 ÷ got ceiling (${int(c1.steady.rate)}/s at ${c1.concurrency})`, figure: ratio1.toFixed(2), target: `≥ ${TARGET.oneToOneCeilingRatio}`, verdict: yes(ratio1 >= TARGET.oneToOneCeilingRatio) },
      { what: `1 → ${options.fanOutWebhooks} ÷ got ceiling`, figure: ratio2.toFixed(2), target: `≥ ${TARGET.ceilingRatio}`, verdict: yes(ratio2 >= TARGET.ceilingRatio) },
      ...[s1, s2].map((s) => ({ what: `CPU-ms per delivery, whole stack, ${s.label}`, figure: msEach(perDelivery(s.cpuMs, s.report.unique, STACK)), target: '(informational)', verdict: '' })),
      { what: `latency p50 at ${options.latencyRate} events/s`, figure: ms(t3.p50), target: '≤ 20 ms', verdict: yes(t3.p50 <= TARGET.p50Ms) },
      { what: `latency p99 at ${options.latencyRate} events/s`, figure: ms(t3.p99), target: '≤ 100 ms', verdict: yes(t3.p99 <= TARGET.p99Ms) },
      { what: `dispatcher RSS, ${int(d2Stats.routing.subscriptions)} subscriptions`, figure: mib(d2Mem.rss), target: '≤ 250 MB', verdict: yes(d2Mem.rss <= TARGET.rssBytes) },
    ]);

    for (const [label, file] of profiles) printProfile(label, file);
    printProfile(`start to ready with ${int(d2Stats.routing.subscriptions)} subscriptions`, d2Profile);

    return {
      oneToOne: s1.steady.rate,
      oneToMany: s2.steady.rate,
      ceiling: c1.steady.rate,
      latency: t3,
      rssBytes: d2Mem.rss,
    };
  } finally {
    for (const app of [...apps].reverse()) await app.stop().catch(() => undefined);
    await receiver?.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await bulkProducer.disconnect().catch(() => undefined);
  }
}
