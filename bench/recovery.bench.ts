import { randomBytes } from 'node:crypto';
import { EVENT_TOPICS, SEED_EXAMPLES, TOPICS, ValidatedEventCodec, type RawTelephonyEvent } from '@odis/contracts';
import { KafkaConnection, MessageProducer, type OutboundMessage } from '@odis/messaging';
import { processes } from '../scripts/local-stack/processes.js';
import { groupsAtEnd } from './dispatch.bench.js';
import { ReceiverProcess } from './receiver-process.js';
import { recoveryRows, p99Ratio, type LivePhase, type RecoveredDeliveries } from './recovery-report.js';
import { cpuRow, cpuSnapshot, type Pids } from './sampling.js';
import type { BenchApp, BenchStack } from './stack.js';
import { int, now, printTable, secs, sleep } from './stats.js';

/**
 * Recovery from the event log (issue 11 item 2, decision 0011) against live deliveries, on the whole
 * local stack (subscription-api with its recovery runner, event-ingest and dispatcher as child
 * processes; two receivers, each a child process with its own origin, so the recovered webhooks
 * never share the live webhook's per-endpoint slots, as two customers would not):
 *  - five accounts each get 10,000 `call.started` events on `events.call.started` (produced fast, in
 *    batches, before the dispatcher starts, so nothing delivers them live) and a webhook on the
 *    recovery receiver; a sixth account has a healthy webhook on the live receiver;
 *  - phase 1, without recoveries: live raw events at a steady rate (BENCH_RECOVERY_LIVE_RATE, default
 *    150/s) for BENCH_RECOVERY_LIVE_SECONDS (20 s) through event-ingest and the dispatcher; latency =
 *    bench clock at send() → live receiver clock;
 *  - phase 2: the five `POST /v1/webhooks/{id}/recover` sent at once through the real API, and the
 *    same live rate kept up until every recovered delivery has arrived (at most
 *    BENCH_RECOVERY_MAX_SECONDS, 150 s); then each recovery's `GET` must say done, 10,000 delivered.
 * Printed: live p50/p99/max in both phases, p99(with) ÷ p99(without), the recovery throughput
 * (recovered deliveries ÷ first recover request → last recovered delivery), and whether all 50,000
 * recovered deliveries reached their receiver exactly once. The recovery rate is the stack's
 * RECOVERY_JOBS_PER_SECOND (default 500; set it in the bench's environment to try another).
 */
export interface RecoveryBenchOptions {
  recoveries: number;
  eventsEach: number;
  liveRate: number;
  liveSeconds: number;
  maxSeconds: number;
}

const envInt = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

export const defaultRecoveryBenchOptions = (): RecoveryBenchOptions => ({
  recoveries: envInt('BENCH_RECOVERY_COUNT', 5),
  eventsEach: envInt('BENCH_RECOVERY_EVENTS', 10_000),
  liveRate: envInt('BENCH_RECOVERY_LIVE_RATE', 150),
  liveSeconds: envInt('BENCH_RECOVERY_LIVE_SECONDS', 20),
  maxSeconds: envInt('BENCH_RECOVERY_MAX_SECONDS', 150),
});

/** The issue's bar, "recoveries do not slow live deliveries", as a ratio of live p99s. */
const MAX_P99_RATIO = 1.5;

const CLI = 'dist/apps/subscription-api/src/cli/main.js';

/** On a fresh broker a topic's leader may not be elected yet ("not the leader"): try again a few times. */
async function retrying<T>(fn: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= tries) throw error;
      await sleep(500);
    }
  }
}

export async function recoveryBenchmark(stack: BenchStack, options: RecoveryBenchOptions = defaultRecoveryBenchOptions()) {
  const tag = randomBytes(3).toString('hex');
  const brokers = stack.infra.env.KAFKA_BROKERS!.split(',');
  const connection = new KafkaConnection({ clientId: 'bench-recovery', brokers, logLevel: 'error' });
  const producer = new MessageProducer(connection);
  const apps: BenchApp[] = [];
  const receivers: ReceiverProcess[] = [];
  const brokerPid = processes.running.find((p) => p.name === 'kafka')?.pid;
  try {
    const live = await ReceiverProcess.start();
    receivers.push(live);
    const rec = await ReceiverProcess.start();
    receivers.push(rec);
    await producer.connect();

    // --- subscription-api, its delivery-log consumer at the end of webhooks.attempts (earlier
    // benchmarks' attempts are not ours to project).
    await retrying(() => groupsAtEnd(connection, [['subscription-api.attempt-log', [TOPICS.attempts]]]));
    const api = await stack.startApp('subscription-api', { API_RATE_LIMIT_PER_SECOND: '1000', API_RATE_LIMIT_BURST: '1000' });
    apps.push(api);
    const call = async (apiKey: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json!;
    };
    const accounts = await Promise.all(
      Array.from({ length: options.recoveries + 1 }, async (_, i) => {
        const out = await stack.runNode(`${stack.root}/${CLI}`, ['accounts', 'create', '--name', `Bench Recovery ${tag} ${i}`, '--email', 'bench@clinic.example', '--json']);
        const { api_key: apiKey, account_id: accountId } = JSON.parse(out.trim().split('\n').pop()!) as { api_key: string; account_id: string };
        return { apiKey, accountId };
      }),
    );
    const liveAccount = accounts[options.recoveries];
    const recAccounts = accounts.slice(0, options.recoveries);
    const liveHook = (await call(liveAccount.apiKey, 'POST', '/v1/webhooks', { url: `${live.url}/hooks/live`, events: ['call.started'] })).id as string;
    const recHooks = await Promise.all(recAccounts.map(async (a, i) => (await call(a.apiKey, 'POST', '/v1/webhooks', { url: `${rec.url}/hooks/r${i}`, events: ['call.started'] })).id as string));

    // --- The retained events of the five accounts, before the dispatcher starts.
    const since = new Date(Date.now() - 1_000).toISOString();
    const sample = SEED_EXAMPLES['call.started'];
    const retained: OutboundMessage[] = [];
    for (let i = 0; i < options.eventsEach; i++) {
      for (const [a, acct] of recAccounts.entries()) {
        retained.push(
          ValidatedEventCodec.encode({
            v: 1,
            event_id: `evt_bench_${tag}_${a}_${i}`,
            account_id: acct.accountId,
            event: 'call.started',
            timestamp: sample.timestamp,
            data: { ...(sample.data as Record<string, unknown>), call_id: `call_rec${tag}_${a}_${i}` },
            received_at: new Date().toISOString(),
          }),
        );
      }
    }
    const p0 = now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < retained.length; i += 500) sends.push(producer.send(EVENT_TOPICS['call.started'], retained.slice(i, i + 500)));
    await Promise.all(sends);
    const produceMs = now() - p0;
    retained.length = 0;
    await sleep(1_100); // the window's end (the recover requests' "now") is after every retained record

    // --- event-ingest and the dispatcher, fresh groups at the end of their topics.
    const groups = { ingest: `bench-rec-ingest-${tag}`, fanOut: `bench-rec-fanout-${tag}`, deliveries: `bench-rec-deliveries-${tag}` };
    await retrying(() => groupsAtEnd(connection, [
      [groups.ingest, [TOPICS.telephonyRaw]],
      [groups.fanOut, Object.values(EVENT_TOPICS)],
      [groups.deliveries, [TOPICS.deliveries]],
    ]));
    const ingest = await stack.startApp('event-ingest', { INGEST_GROUP: groups.ingest });
    apps.push(ingest);
    const dispatcher = await stack.startApp('dispatcher', { DISPATCH_FANOUT_GROUP: groups.fanOut, DISPATCH_DELIVERY_GROUP: groups.deliveries });
    apps.push(dispatcher);
    for (const id of [liveHook, ...recHooks]) {
      for (let i = 0; ; i++) {
        if ((await fetch(`${dispatcher.url}/routing/subscriptions/${id}`)).status === 200) break;
        if (i > 300) throw new Error(`dispatcher does not route ${id}`);
        await sleep(100);
      }
    }
    const pids = (): Pids => ({
      broker: brokerPid,
      'subscription-api': api.process.pid,
      'event-ingest': ingest.process.pid,
      dispatcher: dispatcher.process.pid,
      'live receiver': live.pid,
      'recovery receiver': rec.pid,
      bench: process.pid,
    });

    // --- Live traffic at a steady rate while `keepGoing()` holds (and at least `minMs`).
    const rawEvent = (prefix: string, k: number): OutboundMessage => {
      const event: RawTelephonyEvent = {
        event: 'call.started',
        timestamp: sample.timestamp,
        account_id: liveAccount.accountId,
        id: `live-${tag}-${prefix}-${k}`,
        data: { ...sample.data, call_id: `call_${prefix}${tag}_${k}` },
      };
      return { key: liveAccount.accountId, value: JSON.stringify(event) };
    };
    const fanOutStats = async () => ((await (await fetch(`${dispatcher.url}/stats`)).json()) as { fan_out: Record<string, number> }).fan_out;
    const runLive = async (label: string, prefix: string, keepGoing: (elapsedMs: number) => boolean): Promise<LivePhase & { cpu: Record<string, string>; spanMs: number; fanOut: string }> => {
      await live.reset(true);
      await sleep(300);
      const fan0 = await fanOutStats();
      const interval = 1000 / options.liveRate;
      const sentAt: number[] = [];
      const cpu0 = cpuSnapshot(pids());
      const start = now() + 20;
      while (keepGoing(now() - start)) {
        const t = now();
        while (start + sentAt.length * interval <= t) {
          const k = sentAt.length;
          sentAt.push(now());
          producer.send(TOPICS.telephonyRaw, [rawEvent(prefix, k)]).catch(() => undefined);
        }
        await sleep(1);
      }
      const spanMs = now() - start;
      for (let i = 0, last = -1, lastChange = Date.now(); i < 300; i++) {
        const c = await live.count();
        if (c >= sentAt.length) break;
        if (c !== last) [last, lastChange] = [c, Date.now()];
        else if (Date.now() - lastChange > 10_000) break;
        await sleep(100);
      }
      const cpu = cpuRow(cpu0, cpuSnapshot(pids()));
      const fan1 = await fanOutStats();
      const fanOut = ['inline', 'waited', 'handedOff'].map((k) => int((fan1[k] ?? 0) - (fan0[k] ?? 0))).join('/');
      const report = await live.report();
      const head = `call_${prefix}${tag}_`;
      const seen = new Set<number>();
      const latencies: number[] = [];
      for (const [callId, t] of report.calls) {
        if (!callId.startsWith(head)) continue;
        const k = Number(callId.slice(head.length));
        if (seen.has(k) || !(k < sentAt.length)) continue;
        seen.add(k);
        latencies.push(t - sentAt[k]);
      }
      return { label, sent: sentAt.length, latencies, cpu, spanMs, fanOut };
    };

    // Warm-up (JIT, connections, fetch sessions): not measured.
    await runLive('warm-up', 'w', (elapsed) => elapsed < 3_000);

    const phase1 = await runLive(`live ${options.liveRate}/s, no recovery`, 'a', (elapsed) => elapsed < options.liveSeconds * 1000);

    // --- Phase 2: five recoveries requested at once through the API, live traffic until they are delivered.
    await rec.reset();
    const total = options.recoveries * options.eventsEach;
    const t0 = now();
    let answeredMs = NaN;
    const started = Promise.all(recAccounts.map((a, i) => call(a.apiKey, 'POST', `/v1/webhooks/${recHooks[i]}/recover`, { since }))).then((r) => {
      answeredMs = now() - t0;
      return r;
    });
    let recCount = 0;
    let lastPoll = 0;
    let lastChange = Date.now();
    let stalled = false;
    const phase2 = await runLive(`live ${options.liveRate}/s, ${options.recoveries} recoveries × ${int(options.eventsEach)} running`, 'b', (elapsed) => {
      if (elapsed - lastPoll >= 250) {
        lastPoll = elapsed;
        void rec.count().then((c) => {
          if (c !== recCount) [recCount, lastChange] = [c, Date.now()];
        });
      }
      stalled = Date.now() - lastChange > 30_000;
      return elapsed < options.maxSeconds * 1000 && recCount < total && !stalled;
    });
    const requested = await started;

    // Each recovery's view once its deliveries are in the delivery log (one bounded wait for all: the
    // recoveries run one after another, so the last may still be delivering when the live phase ends).
    const views: Array<Record<string, unknown>> = [];
    const deadline = Date.now() + 60_000;
    for (const [i, a] of recAccounts.entries()) {
      let view = await call(a.apiKey, 'GET', `/v1/webhooks/${recHooks[i]}/recoveries/${requested[i].id as string}`);
      while (view.status !== 'done' && Date.now() < deadline) {
        await sleep(500);
        view = await call(a.apiKey, 'GET', `/v1/webhooks/${recHooks[i]}/recoveries/${requested[i].id as string}`);
      }
      views.push(view);
    }
    // The receiver's figures once every recovery is done (or the wait gave up), plus a moment for stragglers.
    await sleep(500);
    const recReport = await rec.report();
    let lastReceive = -Infinity;
    for (const t of recReport.times) if (t > lastReceive) lastReceive = t;
    const perPath = new Map(recReport.paths);
    const recovered: RecoveredDeliveries = {
      recoveries: options.recoveries,
      eventsEach: options.eventsEach,
      perWebhook: recHooks.map((_, i) => perPath.get(`/hooks/r${i}`) ?? 0),
      unique: recReport.unique,
      duplicates: recReport.duplicates,
      spanMs: lastReceive - t0,
      apiDelivered: views.map((v) => Number(v.delivered)),
    };

    printTable(
      `recovery vs live deliveries (live: send() of a raw event → its webhook received, 1 webhook of its own account on its own receiver; recoveries: ${options.recoveries} accounts × ${int(options.eventsEach)} retained events produced in ${secs(produceMs)}, requested at once through POST /v1/webhooks/{id}/recover, RECOVERY_JOBS_PER_SECOND ${process.env.RECOVERY_JOBS_PER_SECOND ?? '500 (default)'})`,
      recoveryRows(phase1, phase2, recovered, MAX_P99_RATIO),
    );
    process.stdout.write(
      `(phase 2 lasted ${secs(phase2.spanMs)}${stalled ? ', recovered deliveries STALLED' : ''}; the 5 recover requests all answered after ${secs(answeredMs)}; events counted by the requests: ${requested.map((r) => int(Number(r.events))).join(', ')}; recoveries at the end: ${views.map((v) => `${String(v.status)} ${int(Number(v.delivered))}/${int(Number(v.events))}`).join(', ')})\n`,
    );
    const cpuColumns = ['broker', 'subscription-api', 'event-ingest', 'dispatcher', 'live receiver', 'recovery receiver', 'bench', 'everything else', 'machine busy'];
    printTable('CPU during each phase (share of one core; "everything else" = machine busy minus the processes listed), and how the dispatcher\'s fan-out sent the live deliveries (inline / after waiting for its endpoint / handed off to webhooks.deliveries)', [phase1, phase2].map((p) => ({ phase: p.label, ...Object.fromEntries(cpuColumns.map((c) => [c, p.cpu[c] ?? '-'])), 'live fan-out inline/waited/handed off': p.fanOut })));
    return { ratio: p99Ratio(phase1.latencies, phase2.latencies), recovered };
  } finally {
    for (const app of [...apps].reverse()) await app.stop().catch(() => undefined);
    for (const r of receivers) await r.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}
