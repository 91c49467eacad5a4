/**
 * Helpers of the event-ingest / dispatcher integration tests (test/ingest, test/dispatch,
 * test/e2e/ingest-dispatch*): app env, apps in-process, subscription snapshots, topic taps.
 *
 * The apps use the platform's fixed topic names, and other test files may use the same broker, so
 * every test uses its own accounts, subscriptions and consumer groups, and asserts on its own ids
 * (de-duplicating by delivery id: delivery is at least once).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { EVENT_TOPICS, EVENT_TYPES, newId, SecretBox, SEED_EXAMPLES, TOPICS, topicSpecs, ValidatedEventCodec, type EventType, type SubscriptionSnapshot } from '@odis/contracts';
import { ensureTopics, KafkaConnection, MessageProducer, readTopicToEnd, type InboundMessage, type OutboundMessage, type TopicReader } from '@odis/messaging';
import { startTestReceiver, type TestReceiver, type TestReceiverOptions } from '@odis/receiver-kit';
import { requireEnv, waitFor } from '../support/infra.js';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 11).toString('base64');
export const TEST_INGEST_TOKEN = 'test-ingest-token-0123456789';
export const box = SecretBox.fromBase64(TEST_ENCRYPTION_KEY);

/**
 * A validated event of `accountId` as event-ingest puts it on its per-type topic: the seed's sample
 * payload of `type`, with `eventId` (a new one by default) and `received_at` now.
 */
export function sampleEventMessage(accountId: string, type: EventType = 'call.started', eventId: string = newId('evt')): OutboundMessage {
  const sample = SEED_EXAMPLES[type];
  return ValidatedEventCodec.encode({
    v: 1,
    event_id: eventId,
    account_id: accountId,
    event: type,
    timestamp: sample.timestamp,
    data: sample.data as Record<string, unknown>,
    received_at: new Date().toISOString(),
  });
}

export function suffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function brokers(): string[] {
  return requireEnv('KAFKA_BROKERS').split(',');
}

/** Every topic of the platform exists (idempotent). */
export async function ensurePlatformTopics(): Promise<void> {
  await ensureTopics(brokers(), topicSpecs());
}

/** Env of both apps for a test: own consumer groups, private targets allowed, quiet logs. */
export function appEnv(tag: string, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
    PORT: '0',
    SECRET_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '0,1s,1s',
    WEBHOOK_TIMEOUT_MS: '5000',
    INGEST_SERVICE_TOKEN: TEST_INGEST_TOKEN,
    INGEST_GROUP: `it-ingest-${tag}`,
    DISPATCH_FANOUT_GROUP: `it-fanout-${tag}`,
    DISPATCH_DELIVERY_GROUP: `it-deliveries-${tag}`,
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'warn',
    KAFKA_LOG_LEVEL: 'error',
    ...overrides,
  };
}

export function baseUrl(app: INestApplication): string {
  const address = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** Polls `GET /ready` until it answers 200. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, { timeoutMs, intervalMs: 100, message: `${url}/ready` });
}

/** Waits until the dispatcher at `url` routes subscription `id` with at least `version` (or, with `gone`, no longer knows it). */
export async function waitRouted(url: string, id: string, expect: { version?: number; status?: 'active' | 'disabled'; gone?: boolean } = {}): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${url}/routing/subscriptions/${encodeURIComponent(id)}`);
      if (expect.gone) return res.status === 404;
      if (res.status !== 200) return false;
      const route = (await res.json()) as { version: number; status: string };
      return route.version >= (expect.version ?? 1) && (!expect.status || route.status === expect.status);
    },
    { timeoutMs: 30_000, intervalMs: 50, message: `dispatcher routes ${id} ${JSON.stringify(expect)}` },
  );
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

export class TestKafka {
  readonly connection = new KafkaConnection({ brokers: brokers(), clientId: `it-${suffix()}`, logLevel: 'error' });
  readonly producer = new MessageProducer(this.connection, { lingerMs: 1 });

  /** Puts a sample event of `accountId` on its per-type topic (sampleEventMessage); returns its event id. */
  async produceSample(accountId: string, type: EventType = 'call.started', eventId: string = newId('evt')): Promise<string> {
    await this.producer.sendOne(EVENT_TOPICS[type], sampleEventMessage(accountId, type, eventId));
    return eventId;
  }
  private readonly taps: TopicTap[] = [];

  async publishSubscription(s: {
    id: string;
    accountId: string;
    url: string;
    events: EventType[];
    secret: string;
    status?: 'active' | 'disabled';
    version?: number;
  }): Promise<SubscriptionSnapshot> {
    const snapshot: SubscriptionSnapshot = {
      v: 1,
      id: s.id,
      account_id: s.accountId,
      url: s.url,
      events: s.events,
      status: s.status ?? 'active',
      secret_encrypted: box.encrypt(s.secret, s.id),
      version: s.version ?? 1,
      updated_at: new Date().toISOString(),
    };
    await this.producer.sendOne(TOPICS.subscriptions, { key: s.id, value: JSON.stringify(snapshot) });
    return snapshot;
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.producer.sendOne(TOPICS.subscriptions, { key: id, value: null });
  }

  async produceRaw(accountId: string, value: string | Buffer | object): Promise<void> {
    const bytes = typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value);
    await this.producer.sendOne(TOPICS.telephonyRaw, { key: accountId, value: bytes });
  }

  /** Follows a topic from its beginning, keeping the records `keep` accepts. */
  async tap(topic: string, keep: (m: InboundMessage) => boolean = () => true): Promise<TopicTap> {
    const tap = new TopicTap();
    tap.reader = await readTopicToEnd(this.connection, {
      topic,
      follow: true,
      groupIdPrefix: 'it-tap',
      maxWaitTimeMs: 100,
      onMessage: (m) => {
        if (keep(m)) tap.records.push(m);
      },
    });
    this.taps.push(tap);
    return tap;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.taps.map((t) => t.reader?.stop()));
    await this.producer.disconnect();
  }
}

export class TopicTap {
  reader: TopicReader | null = null;
  readonly records: InboundMessage[] = [];

  json<T = Record<string, unknown>>(): T[] {
    return this.records.map((r) => (r.value ? (JSON.parse(r.value.toString('utf8')) as T) : (null as T)));
  }

  async waitForCount(n: number, timeoutMs = 30_000, what = 'records'): Promise<void> {
    await waitFor(() => this.records.length >= n, { timeoutMs, intervalMs: 50, message: `${n} ${what} (have ${this.records.length})` });
  }
}

/**
 * What one test file makes on the shared stack (receivers, accounts, webhooks on the changelog) and
 * its clean-up: later files' dispatchers read the whole changelog, so no live webhook is left behind.
 */
export class TestScope {
  readonly receivers: TestReceiver[] = [];
  readonly subscriptions: string[] = [];
  readonly accounts: string[] = [];

  constructor(
    readonly kafka: TestKafka,
    private readonly prefix: string,
  ) {}

  async receiver(options: TestReceiverOptions = {}): Promise<TestReceiver> {
    const r = await startTestReceiver(options);
    this.receivers.push(r);
    return r;
  }

  account(): string {
    const a = `acct_${this.prefix}_${suffix()}`;
    this.accounts.push(a);
    return a;
  }

  /** A webhook of `accountId` published to the changelog; resolves once the dispatcher at `dispatcherUrl` routes it. */
  async subscribe(dispatcherUrl: string, accountId: string, url: string, options: { secret?: string; events?: EventType[] } = {}): Promise<string> {
    const id = `wh_${this.prefix}_${suffix()}`;
    this.subscriptions.push(id);
    await this.kafka.publishSubscription({ id, accountId, url, events: options.events ?? [...EVENT_TYPES], secret: options.secret ?? `secret_${suffix()}` });
    await waitRouted(dispatcherUrl, id);
    return id;
  }

  /** True for a record keyed by one of this scope's accounts or webhooks (for topic taps). */
  owns = (m: InboundMessage): boolean => {
    const key = m.key?.toString() ?? '';
    return this.accounts.includes(key) || this.subscriptions.includes(key);
  };

  async close(): Promise<void> {
    await Promise.allSettled(this.receivers.map((r) => r.close()));
    await Promise.allSettled(this.subscriptions.map((id) => this.kafka.deleteSubscription(id)));
  }
}
