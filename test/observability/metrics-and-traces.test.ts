/**
 * Observability on the real stack (issue 14 items 1-3; docs/decisions/0018-observability.md): the
 * five apps in-process (their Nest modules, env as in production), real Kafka, Postgres and SMTP.
 *
 * Traffic: an event POSTed at ingest with a `traceparent`, delivered to a healthy receiver; an
 * endpoint answering 500 until it is disabled (retries, exhaustion, one email); a raw record that
 * fails validation (dead-lettered). Then `/metrics` of all five apps is scraped and every named
 * metric is checked; the receiver saw the trace id in its `traceparent`, the attempt record
 * carries it (the apps export spans to a small OTLP/HTTP collector the test runs; what arrives is not
 * checked yet: see decision 0018); and what the apps' loggers write during the run
 * (LOG_FORMAT=json, level `log`, into a destination the test reads) is JSON lines that never contain
 * the webhook secret or the API key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { useLogDestination } from '@odis/platform';
import request from 'supertest';
import { EVENT_TOPICS, RETRY_TIER_ATTEMPTS, retryTierTopic, SEED_EXAMPLES, TOPICS, type AttemptRecord } from '@odis/contracts';
import { runMigrations } from '@odis/persistence';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startNotifier } from '../../apps/notifier/src/notifier.app.js';
import { loadNotifierConfig } from '../../apps/notifier/src/config/notifier.config.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { startSmtp, type SmtpHandle } from '../../scripts/local-stack/smtp.js';
import { createAccount, startSubscriptionApi } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, suffix, TEST_ENCRYPTION_KEY, TEST_INGEST_TOKEN, TestKafka, waitReady, waitRouted, type TopicTap } from '../dispatch/support.js';
import { connection, ensurePlatformTopics, seedGroupAtEnd } from '../retry/retry-test-kit.js';
import { requireEnv, waitFor } from '../support/infra.js';

const SCHEDULE = '0,1s,1s';

/** `name{labels} value` samples of one metric in a Prometheus text exposition. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}
const sum = (s: Array<{ value: number }>) => s.reduce((n, x) => n + x.value, 0);

describe('metrics, traces and logs on the real stack', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  const mailDir = mkdtempSync(join(tmpdir(), 'it-observe-mail-'));
  const apps: Record<string, INestApplication> = {};
  let smtp: SmtpHandle;
  let failing: TestReceiver;
  let healthy: TestReceiver;
  let attempts: TopicTap;
  let accountId: string;
  let apiKey: string;
  let failingId: string;
  let healthyId: string;
  const secret = `whsec_obs_${suffix()}`;
  const healthySecret = `whsec_obs2_${suffix()}`;
  const logs: string[] = [];
  /** OTLP/HTTP export requests (JSON bodies) received by the test's collector. */
  const exported: Array<{ path: string; body: string }> = [];
  let collector: Server;

  const auth = () => ({ Authorization: `Bearer ${apiKey}` });
  const callStarted = (n: number) => ({ ...SEED_EXAMPLES['call.started'], account_id: accountId, data: { ...SEED_EXAMPLES['call.started'].data, call_id: `call_${tag}_${n}` } });
  const callIdOf = (r: ReceivedRequest) => (JSON.parse(r.body.toString('utf8')) as { data: { call_id: string } }).data.call_id;

  beforeAll(async () => {
    // Every line the apps' loggers write during the run is kept (and not printed): the JSON and secrets checks read them.
    useLogDestination({ write: (line: string) => void logs.push(line) });
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        exported.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const otlp = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

    const dbUrl = requireEnv('DATABASE_URL');
    await runMigrations(dbUrl).catch(async () => runMigrations(dbUrl));
    const conn = connection();
    await ensurePlatformTopics(conn);
    const env = appEnv(tag, { WEBHOOK_RETRY_SCHEDULE: SCHEDULE, KAFKA_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: 'log', LOG_FORMAT: 'json', OTEL_EXPORTER_OTLP_ENDPOINT: otlp });
    await seedGroupAtEnd(conn, env.INGEST_GROUP!, [TOPICS.telephonyRaw]);
    await seedGroupAtEnd(conn, env.DISPATCH_FANOUT_GROUP!, Object.values(EVENT_TOPICS));
    await seedGroupAtEnd(conn, env.DISPATCH_DELIVERY_GROUP!, [TOPICS.deliveries]);
    const schedulerGroup = `it-obs-scheduler-${tag}`;
    const notifierGroup = `it-obs-notifier-${tag}`;
    await seedGroupAtEnd(conn, schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));
    await seedGroupAtEnd(conn, notifierGroup, [TOPICS.exhausted]);
    smtp = await startSmtp({ mailDir, logFile: join(mailDir, '..', `smtp-${tag}.log`) });

    apps.api = await startSubscriptionApi({ SECRET_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'log', LOG_FORMAT: 'json', OTEL_EXPORTER_OTLP_ENDPOINT: otlp });
    apps.dispatcher = await startDispatcher(loadDispatcherConfig(env));
    apps.ingest = await startEventIngest(loadIngestConfig(env));
    apps.scheduler = await startRetryScheduler(loadRetrySchedulerConfig({ ...env, RETRY_SCHEDULER_GROUP: schedulerGroup }));
    apps.notifier = await startNotifier(
      loadNotifierConfig({ ...env, DATABASE_URL: dbUrl, SMTP_URL: smtp.url, NOTIFIER_GROUP: notifierGroup, NOTIFIER_POLL_MS: '500', NOTIFIER_RETRY_INITIAL_MS: '300' }),
    );
    await Promise.all(Object.values(apps).map((a) => waitReady(baseUrl(a), 90_000)));

    failing = await startTestReceiver({ respond: () => ({ status: 500, body: 'down' }) });
    healthy = await startTestReceiver();
    attempts = await kafka.tap(TOPICS.attempts, (m) => m.headers['odis-delivery-id'] !== undefined);
    ({ accountId, apiKey } = await createAccount(`Obs Clinic ${tag}`, `owner-${tag}@clinic.example`));
    failingId = (await request(apps.api.getHttpServer()).post('/v1/webhooks').set(auth()).send({ url: `${failing.url}/hook`, events: ['call.started'], secret }).expect(201)).body.id;
    healthyId = (await request(apps.api.getHttpServer()).post('/v1/webhooks').set(auth()).send({ url: `${healthy.url}/hook`, events: ['call.ended'], secret: healthySecret }).expect(201))
      .body.id;
    const dispatcherUrl = baseUrl(apps.dispatcher);
    await Promise.all([waitRouted(dispatcherUrl, failingId), waitRouted(dispatcherUrl, healthyId)]);
  }, 180_000);

  afterAll(async () => {
    useLogDestination(undefined);
    if (apps.api && apiKey) {
      for (const id of [failingId, healthyId].filter(Boolean)) await request(apps.api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth());
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const name of ['notifier', 'scheduler', 'ingest', 'dispatcher', 'api']) await apps[name]?.close().catch(() => undefined);
    await Promise.allSettled([failing?.close(), healthy?.close(), smtp?.stop(), new Promise((r) => (collector ? collector.close(r) : r(undefined)))]);
    await kafka.close();
  }, 90_000);

  it('carries a trace id from ingest to the receiver and the attempt record; every app exposes its metrics; no secret is logged', async () => {
    // 1. An event with a traceparent, over HTTP at ingest.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const ended = { ...SEED_EXAMPLES['call.ended'], account_id: accountId, data: { ...SEED_EXAMPLES['call.ended'].data, call_id: `call_${tag}_traced` } };
    const res = await fetch(`${baseUrl(apps.ingest)}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify(ended),
    });
    expect(res.status).toBe(202);
    const got = await waitFor(() => healthy.requests.find((r) => callIdOf(r) === `call_${tag}_traced`), { timeoutMs: 30_000, message: 'the traced event delivered' });
    expect(String(got.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(String(got.headers.traceparent)).not.toContain('00f067aa0ba902b7'); // the attempt is its own span
    const record = await waitFor(
      () => attempts.records.map((m) => JSON.parse(m.value!.toString('utf8')) as AttemptRecord).find((r) => r.subscription_id === healthyId && r.outcome === 'succeeded'),
      { timeoutMs: 20_000, message: 'the attempt record' },
    );
    expect(record.trace_id).toBe(traceId);
    expect(record.request_headers?.traceparent).toBe(got.headers.traceparent);

    // 2. A failing endpoint until it is disabled (3 attempts), and one email.
    await kafka.produceRaw(accountId, callStarted(1));
    await waitFor(async () => (await request(apps.api.getHttpServer()).get(`/v1/webhooks/${failingId}`).set(auth())).body.status === 'disabled' || null, {
      timeoutMs: 40_000,
      intervalMs: 200,
      message: 'webhook disabled',
    });
    expect(failing.requests).toHaveLength(3);
    await waitFor(() => readdirSync(mailDir).some((f) => f.endsWith('.eml')) || null, { timeoutMs: 30_000, message: 'the email' });

    // 3. A raw record that fails validation is dead-lettered by event-ingest.
    await kafka.produceRaw(accountId, '{"event":"call.started","not":"valid"');

    // 4. Scrape all five.
    const scrape = async (name: string) => {
      const r = await fetch(`${baseUrl(apps[name]!)}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/plain');
      return r.text();
    };
    const ingestText = await waitFor(async () => {
      const t = await scrape('ingest');
      return sum(samples(t, 'odis_dead_letters_total').filter((s) => s.labels.topic === TOPICS.telephonyRaw)) >= 1 ? t : null;
    }, { timeoutMs: 20_000, message: 'the dead letter counted' });
    const emailsText = await waitFor(async () => {
      const t = await scrape('notifier');
      return sum(samples(t, 'odis_emails_total').filter((s) => s.labels.outcome === 'sent')) >= 1 ? t : null;
    }, { timeoutMs: 20_000, message: 'the email counted' });
    const texts: Record<string, string> = { ingest: ingestText, notifier: emailsText };
    for (const name of ['api', 'dispatcher', 'scheduler']) texts[name] = await scrape(name);

    for (const [name, text] of Object.entries(texts)) {
      // Node's process metrics, and the consumer lag gauge of each app's groups, are on every app.
      expect(samples(text, 'process_resident_memory_bytes')[0]!.value).toBeGreaterThan(10_000_000);
      expect(samples(text, 'process_cpu_seconds_total')[0]!.value).toBeGreaterThan(0);
      if (name !== 'api') {
        const lag = samples(text, 'odis_consumer_lag');
        expect(lag.length).toBeGreaterThan(0);
        for (const s of lag) expect(s.value).toBeGreaterThanOrEqual(0);
      }
      // No id as a label: no label value looks like an account, webhook, event or delivery id.
      expect(text).not.toMatch(/="(acc|sub|wh|evt|dlv)_[A-Za-z0-9]{6,}"/);
      expect(text).not.toContain(accountId);
    }
    const t = texts;
    // In-process, the five apps share the process registry: each app's own metrics are checked on it.
    expect(sum(samples(t.ingest!, 'odis_events_ingested_total').filter((s) => s.labels.type === 'call.ended' && s.labels.outcome === 'accepted'))).toBeGreaterThanOrEqual(1);
    expect(sum(samples(t.ingest!, 'odis_events_ingested_total').filter((s) => s.labels.type === 'call.started' && s.labels.outcome === 'accepted'))).toBeGreaterThanOrEqual(1);
    expect(sum(samples(t.ingest!, 'odis_events_ingested_total').filter((s) => s.labels.outcome === 'not_json'))).toBeGreaterThanOrEqual(1);
    expect(t.ingest).toMatch(/odis_ingest_events_accepted_total\{source="http"\} [1-9]/); // event-ingest's older counters stay

    const deliveries = samples(t.dispatcher!, 'odis_deliveries_total');
    expect(sum(deliveries.filter((s) => s.labels.outcome === 'succeeded' && s.labels.attempt === '1'))).toBeGreaterThanOrEqual(1);
    for (const attempt of ['1', '2', '3']) expect(sum(deliveries.filter((s) => s.labels.outcome === 'failed' && s.labels.attempt === attempt))).toBeGreaterThanOrEqual(1);
    const deliveryCount = samples(t.dispatcher!, 'odis_delivery_duration_seconds_count')[0]!.value;
    const deliverySum = samples(t.dispatcher!, 'odis_delivery_duration_seconds_sum')[0]!.value;
    expect(deliveryCount).toBeGreaterThanOrEqual(1);
    expect(deliverySum / deliveryCount).toBeGreaterThan(0);
    expect(deliverySum / deliveryCount).toBeLessThan(60);
    const attemptCounts = samples(t.dispatcher!, 'odis_attempt_duration_seconds_count');
    expect(sum(attemptCounts)).toBeGreaterThanOrEqual(4);
    const inf = samples(t.dispatcher!, 'odis_attempt_duration_seconds_bucket').filter((s) => s.labels.le === '+Inf');
    expect(sum(inf)).toBe(sum(attemptCounts));

    const parked = samples(t.scheduler!, 'odis_retries_parked');
    expect(parked.map((s) => s.labels.tier).sort()).toEqual(['2', '3']);
    for (const s of parked) expect(s.value).toBe(0); // both retries were released

    expect(samples(t.notifier!, 'odis_webhooks_disabled_total')[0]!.value).toBeGreaterThanOrEqual(1);
    expect(sum(samples(t.notifier!, 'odis_emails_total').filter((s) => s.labels.outcome === 'sent'))).toBeGreaterThanOrEqual(1);

    const pending = samples(t.api!, 'odis_outbox_pending');
    expect(pending).toHaveLength(1); // one leader relay (the api's or the notifier's) counts
    expect(pending[0]!.value).toBeGreaterThanOrEqual(0);
    expect(pending[0]!.value).toBeLessThan(50);

    // 5. Logs: JSON lines with app and trace ids; neither webhook secret nor the API key anywhere.
    expect(logs.length).toBeGreaterThan(10); // the run's log lines were captured
    const entries = logs.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      return JSON.parse(line) as Record<string, unknown>;
    });
    for (const e of entries) {
      expect(typeof e.level).toBe('string');
      expect(typeof e.time).toBe('string');
      expect(typeof e.msg).toBe('string');
      expect(['subscription-api', 'dispatcher', 'event-ingest', 'retry-scheduler', 'notifier']).toContain(e.app);
    }
    expect(entries.some((e) => typeof e.trace_id === 'string' && /^[0-9a-f]{32}$/.test(e.trace_id))).toBe(true);
    const all = logs.join('');
    for (const s of [secret, healthySecret, apiKey, secret.slice('whsec_'.length), apiKey.slice(8)]) expect(all).not.toContain(s);
  }, 150_000);
});
