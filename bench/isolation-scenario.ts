/**
 * The endpoint-isolation scenario of issue 12 (decision 0014), shared by test/e2e/isolation.test.ts
 * and bench/isolation.bench.ts (here because the build, which the benchmarks run from, leaves test/ out): healthy webhooks and webhooks that fail once then succeed, on the
 * same Kafka partitions as a webhook whose endpoint accepts connections and never answers; how late
 * the healthy deliveries and the retries are, with and without the hanging endpoint loaded.
 */
import kafkajs from 'kafkajs';
import { EVENT_TOPICS, SEED_EXAMPLES, type ValidatedEventMessage } from '@odis/contracts';
import type { MessageProducer, OutboundMessage } from '@odis/messaging';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';

const { Partitioners } = kafkajs;
const TOPIC = EVENT_TOPICS['call.started'];

/** The partition the platform's producer (kafkajs DefaultPartitioner, murmur2) gives `key` among `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
  return partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } });
}

/** `${prefix}<random>` keys that land on `partition` (of `partitions`), so they share it with another key. */
export function keyOnPartition(prefix: string, partition: number, partitions: number): string {
  for (;;) {
    const key = `${prefix}${Math.random().toString(36).slice(2, 10)}`;
    if (partitionOf(key, partitions) === partition) return key;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function validatedEvent(accountId: string, eventId: string): ValidatedEventMessage {
  return {
    v: 1,
    event_id: eventId,
    account_id: accountId,
    event: 'call.started',
    timestamp: SEED_EXAMPLES['call.started'].timestamp,
    data: { ...(SEED_EXAMPLES['call.started'].data as Record<string, unknown>), call_id: `call_${eventId}` },
    received_at: new Date().toISOString(),
  };
}

export interface IsolationWebhook {
  id: string;
  accountId: string;
  receiver: TestReceiver;
}

export interface PhaseFigures {
  healthyDeliveries: number;
  healthyP50: number;
  healthyP99: number;
  healthyMax: number;
  retries: number;
  /** attempt 2 received − (attempt 1 received + the 1 s tier delay), per fail-once delivery. */
  retryLatenessP50: number;
  retryLatenessMax: number;
  retryLateness: number[];
}

/** The healthy and fail-once webhooks (other accounts, the hanging webhook's partitions) and their receivers. */
export class IsolationFleet {
  readonly healthy: IsolationWebhook[] = [];
  readonly failOnce: IsolationWebhook[] = [];
  private readonly producedAt = new Map<string, number>();
  private phase = 0;

  constructor(
    private readonly producer: MessageProducer,
    private readonly tag: string,
  ) {}

  /**
   * Starts the receivers and names the webhooks (ids and accounts chosen so every event shares the
   * hanging account's partition of `events.call.started`, and every delivery job and retry the hanging
   * webhook's partition of `webhooks.deliveries` and of the tier topics).
   */
  async start(hanging: { id: string; accountId: string }, partitions: number, counts = { healthy: 50, failOnce: 12 }): Promise<void> {
    const eventPartition = partitionOf(hanging.accountId, partitions);
    const jobPartition = partitionOf(hanging.id, partitions);
    for (let i = 0; i < counts.healthy; i++) {
      this.healthy.push({
        id: keyOnPartition(`wh_iso_h${i}_${this.tag}_`, jobPartition, partitions),
        accountId: keyOnPartition(`acct_iso_h${i}_${this.tag}_`, eventPartition, partitions),
        receiver: await startTestReceiver(),
      });
    }
    for (let i = 0; i < counts.failOnce; i++) {
      const seen = new Set<string>();
      this.failOnce.push({
        id: keyOnPartition(`wh_iso_f${i}_${this.tag}_`, jobPartition, partitions),
        accountId: keyOnPartition(`acct_iso_f${i}_${this.tag}_`, eventPartition, partitions),
        receiver: await startTestReceiver({
          respond: (r) => {
            const id = String(r.headers['x-odis-delivery-id']);
            if (seen.has(id)) return { status: 200 };
            seen.add(id);
            return { status: 500, body: 'first attempt fails' };
          },
        }),
      });
    }
  }

  get all(): IsolationWebhook[] {
    return [...this.healthy, ...this.failOnce];
  }

  /**
   * One phase: a dozen fail-once events at once, then `ticks` rounds (every `tickMs`) of one event
   * per healthy webhook; resolves with the figures once every delivery and retry arrived.
   */
  async runPhase(options: { ticks?: number; tickMs?: number; timeoutMs?: number } = {}): Promise<PhaseFigures> {
    const ticks = options.ticks ?? 8;
    const tickMs = options.tickMs ?? 250;
    const phase = ++this.phase;
    const send = async (hooks: IsolationWebhook[], round: number) => {
      const messages: OutboundMessage[] = hooks.map((h) => {
        const eventId = `evt_iso_${this.tag}_p${phase}_${round}_${h.id}`;
        return { key: h.accountId, value: JSON.stringify(validatedEvent(h.accountId, eventId)) };
      });
      const at = Date.now();
      for (const m of messages) this.producedAt.set(JSON.parse(String(m.value)).event_id as string, at);
      await this.producer.send(TOPIC, messages);
    };
    const failOnceBefore = this.failOnce.map((h) => h.receiver.count);
    const healthyBefore = this.healthy.map((h) => h.receiver.count);
    await send(this.failOnce, 0);
    for (let round = 0; round < ticks; round++) {
      const next = Date.now() + tickMs;
      await send(this.healthy, round);
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const done = () =>
      this.healthy.every((h, i) => h.receiver.count >= healthyBefore[i]! + ticks) && this.failOnce.every((h, i) => h.receiver.count >= failOnceBefore[i]! + 2);
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    const latencies: number[] = [];
    for (const h of this.healthy) {
      for (const r of firstPerDelivery(h.receiver.requests)) {
        const eventId = String(r.headers['x-odis-event-id']);
        if (!eventId.includes(`_p${phase}_`)) continue;
        latencies.push(r.receivedAt - this.producedAt.get(eventId)!);
      }
    }
    const lateness: number[] = [];
    for (const h of this.failOnce) {
      const mine = h.receiver.requests.filter((r) => String(r.headers['x-odis-event-id']).includes(`_p${phase}_`));
      const first = mine.find((r) => r.headers['x-odis-attempt'] === '1');
      const second = mine.find((r) => r.headers['x-odis-attempt'] === '2');
      // A retry that never came counts as late by the whole phase.
      lateness.push(first && second ? second.receivedAt - first.receivedAt - 1_000 : Infinity);
    }
    return {
      healthyDeliveries: latencies.length,
      healthyP50: percentile(latencies, 50),
      healthyP99: percentile(latencies, 99),
      healthyMax: Math.max(...latencies),
      retries: lateness.filter(Number.isFinite).length,
      retryLatenessP50: percentile(lateness, 50),
      retryLatenessMax: Math.max(...lateness),
      retryLateness: lateness,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((h) => h.receiver.close()));
  }
}

function firstPerDelivery(requests: ReceivedRequest[]): ReceivedRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => {
    const id = String(r.headers['x-odis-delivery-id']);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** A receiver that accepts every request and never answers (until closed). */
export function startHangingReceiver(): Promise<TestReceiver> {
  return startTestReceiver({ respond: () => ({ status: 200, delayMs: 3_600_000 }) });
}

/** `count` events of the hanging account at once (each one delivery to the hanging webhook). */
export async function loadHanging(producer: MessageProducer, accountId: string, tag: string, count: number): Promise<void> {
  const messages: OutboundMessage[] = Array.from({ length: count }, (_, i) => ({
    key: accountId,
    value: JSON.stringify(validatedEvent(accountId, `evt_iso_${tag}_hang_${i}`)),
  }));
  await producer.send(TOPIC, messages);
}

/**
 * Per delivery of the hanging webhook, what its receiver saw: the attempt numbers in arrival order
 * and the gaps between consecutive attempts (ms).
 */
export function attemptsByDelivery(requests: ReceivedRequest[]): Map<string, { attempts: number[]; times: number[] }> {
  const out = new Map<string, { attempts: number[]; times: number[] }>();
  for (const r of [...requests].sort((a, b) => a.receivedAt - b.receivedAt)) {
    const id = String(r.headers['x-odis-delivery-id']);
    const entry = out.get(id) ?? { attempts: [], times: [] };
    entry.attempts.push(Number(r.headers['x-odis-attempt']));
    entry.times.push(r.receivedAt);
    out.set(id, entry);
  }
  return out;
}
