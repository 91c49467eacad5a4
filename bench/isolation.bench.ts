import { randomBytes } from 'node:crypto';
import { EVENT_TOPICS, RETRY_TIER_ATTEMPTS, retryTierTopic, SecretBox, TOPICS, type SubscriptionSnapshot } from '@odis/contracts';
import { KafkaConnection, MessageProducer, readTopicToEnd } from '@odis/messaging';
import { IsolationFleet, loadHanging, startHangingReceiver, type PhaseFigures } from './isolation-scenario.js';
import type { BenchApp, BenchStack } from './stack.js';
import { printTable } from './stats.js';

const SCHEDULE = '0,1s,2s,3s,4s';
const TIMEOUT_MS = 2_000;
const HANGING_DELIVERIES = 300;

/**
 * `BENCH=isolation` (issue 12 item 1, decision 0014): 50 healthy webhooks and 12 that fail once
 * then succeed, on the same partitions as a webhook whose endpoint never answers. Each mode (the
 * breaker off = the behaviour before decision 0014, then on) runs with a fresh dispatcher: a warm-up,
 * the baseline (no hanging load) and the loaded run (300 deliveries to the hanging endpoint first).
 * Printed: healthy produce-to-receive p50/p99/max, how late each retry came after its due time, and
 * for the hanging webhook its attempts, when its first delivery was exhausted, and what was parked.
 * About 2 minutes; not in the default list.
 */
export async function isolationBenchmark(stack: BenchStack): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const brokers = stack.infra.env.KAFKA_BROKERS!.split(',');
  const connection = new KafkaConnection({ clientId: 'bench-isolation', brokers, logLevel: 'error' });
  const producer = new MessageProducer(connection, { lingerMs: 1 });
  const box = new SecretBox([Buffer.from(stack.secretKey, 'base64')]);
  const apps: BenchApp[] = [];
  const rows: Record<string, string | number>[] = [];
  const common = { WEBHOOK_RETRY_SCHEDULE: SCHEDULE, WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), LOG_LEVEL: 'error' };
  const admin = connection.kafka.admin();
  await admin.connect();
  const groupAtEnd = async (group: string, topics: string[]) => {
    for (const topic of topics) {
      // On a fresh stack a topic may not have its leader in the client's metadata yet: retry a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          const offsets = await admin.fetchTopicOffsets(topic);
          await admin.setOffsets({ groupId: group, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 300 * attempt));
        }
      }
    }
  };
  const subscribe = (id: string, accountId: string, url: string, status: 'active' | 'disabled' = 'active') => {
    const snapshot: SubscriptionSnapshot = {
      v: 1,
      id,
      account_id: accountId,
      url,
      events: ['call.started'],
      status,
      secret_encrypted: box.encrypt(`whsec_bench_${id}`, id),
      version: 1,
      updated_at: new Date().toISOString(),
    };
    return { key: id, value: JSON.stringify(snapshot) };
  };
  const schedulerGroup = `bench-iso-scheduler-${tag}`;
  await groupAtEnd(schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));
  const exhaustedAt = new Map<string, number>();
  const exhaustedTap = await readTopicToEnd(connection, {
    topic: TOPICS.exhausted,
    follow: true,
    groupIdPrefix: 'bench-isolation',
    maxWaitTimeMs: 100,
    onMessage: (m) => {
      const key = m.key?.toString() ?? '';
      if (!exhaustedAt.has(key)) exhaustedAt.set(key, Date.now());
    },
  });
  try {
    const partitions = (await admin.fetchTopicMetadata({ topics: [TOPICS.deliveries] })).topics[0]!.partitions.length;
    apps.push(await stack.startApp('retry-scheduler', { ...common, RETRY_SCHEDULER_GROUP: schedulerGroup }));

    for (const mode of [
      { name: 'breaker off (before 0014)', failures: '0' },
      { name: 'breaker on (5 failures, open 2 s → 4 s)', failures: '5' },
    ]) {
      const label = `${tag}-${mode.failures}`;
      const groups = { DISPATCH_FANOUT_GROUP: `bench-iso-fanout-${label}`, DISPATCH_DELIVERY_GROUP: `bench-iso-deliveries-${label}` };
      await groupAtEnd(groups.DISPATCH_FANOUT_GROUP, Object.values(EVENT_TOPICS));
      await groupAtEnd(groups.DISPATCH_DELIVERY_GROUP, [TOPICS.deliveries]);
      const hanging = await startHangingReceiver();
      const hook = { id: `wh_bench_iso_hang_${label}`, accountId: `acct_bench_iso_hang_${label}` };
      const fleet = new IsolationFleet(producer, label);
      await fleet.start(hook, partitions);
      await producer.send(TOPICS.subscriptions, [subscribe(hook.id, hook.accountId, `${hanging.url}/hook`), ...fleet.all.map((h) => subscribe(h.id, h.accountId, `${h.receiver.url}/hook`))]);
      const dispatcher = await stack.startApp('dispatcher', {
        ...common,
        ...groups,
        DISPATCH_BREAKER_FAILURES: mode.failures,
        DISPATCH_BREAKER_OPEN_MS: '2000',
        DISPATCH_BREAKER_MAX_OPEN_MS: '4000',
      });
      apps.push(dispatcher);
      try {
        await fleet.runPhase({ ticks: 2 }); // warm-up
        const baseline = await fleet.runPhase();
        const t0 = Date.now();
        await loadHanging(producer, hook.accountId, label, HANGING_DELIVERIES);
        await new Promise((r) => setTimeout(r, 1_500));
        const loaded = await fleet.runPhase({ timeoutMs: 45_000 });
        const deadline = t0 + 40_000;
        while (!exhaustedAt.has(hook.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        const stats = (await (await fetch(`${dispatcher.url}/stats`)).json()) as { breakers: { opened_total: number }; deliveries: { parked: number } };
        const exhausted = exhaustedAt.get(hook.id);
        const row = (phase: string, p: PhaseFigures, hangingCells: Record<string, string | number>) => ({
          mode: mode.name,
          phase,
          'healthy deliveries': p.healthyDeliveries,
          'healthy p50': `${p.healthyP50} ms`,
          'healthy p99': `${p.healthyP99} ms`,
          'healthy max': `${p.healthyMax} ms`,
          'retries on time (≤ 2 s late)': `${p.retryLateness.filter((l) => l <= 2_000).length}/${p.retryLateness.length}`,
          'retry lateness p50': `${p.retryLatenessP50} ms`,
          'retry lateness max': Number.isFinite(p.retryLatenessMax) ? `${p.retryLatenessMax} ms` : 'never',
          ...hangingCells,
        });
        const none = { 'hanging: attempts (40 s)': '—', 'hanging: 1st delivery exhausted': '—', parked: '—', 'breaker openings': '—' };
        rows.push(row('baseline (no hanging load)', baseline, none));
        rows.push(
          row(`${HANGING_DELIVERIES} deliveries to the hanging endpoint`, loaded, {
            'hanging: attempts (40 s)': hanging.count,
            'hanging: 1st delivery exhausted': exhausted ? `${((exhausted - t0) / 1000).toFixed(1)} s` : '> 40 s',
            parked: stats.deliveries.parked,
            'breaker openings': stats.breakers.opened_total,
          }),
        );
      } finally {
        // Tombstones: what is still parked or queued for these webhooks is skipped from now on.
        await producer.send(TOPICS.subscriptions, [hook, ...fleet.all].map((h) => ({ key: h.id, value: null })));
        await dispatcher.stop();
        apps.splice(apps.indexOf(dispatcher), 1);
        await Promise.allSettled([hanging.close(), fleet.close()]);
      }
    }
    printTable(
      `endpoint isolation (schedule ${SCHEDULE}, timeout ${TIMEOUT_MS / 1000} s, 50 healthy + 12 fail-once webhooks sharing the hanging webhook's partitions; healthy: 8 rounds of one event each, 250 ms apart; lateness = attempt 2 received − attempt 1 received − 1 s)`,
      rows,
    );
  } finally {
    for (const app of apps.reverse()) await app.stop().catch(() => undefined);
    await exhaustedTap.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await producer.disconnect();
  }
}
