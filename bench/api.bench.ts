import { Agent } from 'node:http';
import { got } from 'got';
import { TOPICS } from '@odis/contracts';
import { KafkaConnection, readTopicToEnd } from '@odis/messaging';
import type { BenchStack } from './stack.js';
import { closedLoop, ms, printTable, summarize } from './stats.js';

/**
 * subscription-api under a short closed-loop load: p50/p99 of POST /v1/webhooks and of
 * GET /v1/webhooks, and the time from a create's 201 to its snapshot on webhooks.subscriptions.
 */
export async function apiBenchmark(stack: BenchStack, options = { requests: 2000, concurrency: 16, changelogSamples: 200 }) {
  // One account creates thousands of webhooks here: lift the per-account cap (default 25).
  const api = await stack.startApp('subscription-api', { API_RATE_LIMIT_PER_SECOND: '100000', API_RATE_LIMIT_BURST: '100000', OUTBOX_POLL_MS: '500', WEBHOOK_MAX_PER_ACCOUNT: '100000' });
  try {
    const newAccountClient = async (n: number) => {
      const out = await stack.runNode(`${stack.root}/dist/apps/subscription-api/src/cli/main.js`, ['accounts', 'create', '--name', `Bench Clinic ${n}`, '--email', 'bench@clinic.example', '--json']);
      const { api_key: apiKey } = JSON.parse(out.trim().split('\n').pop()!);
      return got.extend({
        prefixUrl: api.url,
        headers: { authorization: `Bearer ${apiKey}` },
        agent: { http: new Agent({ keepAlive: true, maxSockets: options.concurrency }) },
        retry: { limit: 0 },
        throwHttpErrors: true,
      });
    };
    const client = await newAccountClient(0);
    // The same load spread over one account per client: creates of one account take its row lock
    // (the race-free per-account cap, decision 0006), so one account's creates are serialised.
    const spread = await Promise.all(Array.from({ length: options.concurrency }, (_, n) => newAccountClient(n + 1)));
    const body = (i: number) => ({ url: `http://127.0.0.1:9/bench/${i}`, events: ['call.started', 'call.ended'], secret: 'bench-secret-0123456789' });

    // Warm-up (JIT, pools, the key cache), not measured.
    await closedLoop(200, options.concurrency, async (i) => void (await client.post('v1/webhooks', { json: body(-i - 1) })));

    const post = await closedLoop(options.requests, options.concurrency, async (i) => void (await client.post('v1/webhooks', { json: body(i) })));
    const postSpread = await closedLoop(options.requests, options.concurrency, async (i) => void (await spread[i % spread.length].post('v1/webhooks', { json: body(i) })));
    const list = await closedLoop(options.requests, options.concurrency, async () => void (await client.get('v1/webhooks?limit=20').json()));

    // Create → snapshot on the changelog, one create at a time.
    const arrivals = new Map<string, number>();
    const connection = new KafkaConnection({ clientId: 'bench-changelog', brokers: stack.infra.env.KAFKA_BROKERS!.split(',') });
    const reader = await readTopicToEnd(connection, {
      topic: TOPICS.subscriptions,
      follow: true,
      maxWaitTimeMs: 50,
      onMessage: (m) => {
        const key = m.key?.toString();
        if (key && !arrivals.has(key)) arrivals.set(key, performance.now());
      },
    });
    const lags: number[] = [];
    for (let i = 0; i < options.changelogSamples; i++) {
      const created = await client.post('v1/webhooks', { json: body(100_000 + i) }).json<{ id: string }>();
      const t = performance.now();
      const deadline = t + 10_000;
      while (!arrivals.has(created.id) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      if (arrivals.has(created.id)) lags.push(arrivals.get(created.id)! - t);
    }
    await reader.stop();

    const p = summarize(post.latencies);
    const ps = summarize(postSpread.latencies);
    const g = summarize(list.latencies);
    const c = summarize(lags);
    printTable('subscription-api (closed loop, ' + options.concurrency + ' clients, ' + options.requests + ' requests per row)', [
      { what: 'POST /v1/webhooks (1 account)', p50: ms(p.p50), p99: ms(p.p99), max: ms(p.max), 'req/s': Math.round((options.requests / post.wallMs) * 1000) },
      { what: `POST /v1/webhooks (${spread.length} accounts, one per client)`, p50: ms(ps.p50), p99: ms(ps.p99), max: ms(ps.max), 'req/s': Math.round((options.requests / postSpread.wallMs) * 1000) },
      { what: 'GET /v1/webhooks?limit=20', p50: ms(g.p50), p99: ms(g.p99), max: ms(g.max), 'req/s': Math.round((options.requests / list.wallMs) * 1000) },
      { what: `create → snapshot on ${TOPICS.subscriptions} (${c.n} samples)`, p50: ms(c.p50), p99: ms(c.p99), max: ms(c.max), 'req/s': '-' },
    ]);
    return { post: p, postSpread: ps, list: g, changelog: c };
  } finally {
    await api.stop();
  }
}
