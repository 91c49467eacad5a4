/**
 * At least once across a crash: the dispatcher runs as a child process (`node
 * dist/apps/dispatcher/src/main.js`, so `npm run build` first) and is killed with SIGKILL in the
 * middle of a stream of 1,000 events. After a restart every event has reached the receiver at least
 * once, and a repeat carries the same delivery id.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { deliveryIdFor, eventIdFor, SEED_EXAMPLES } from '@odis/contracts';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { appEnv, baseUrl, ensurePlatformTopics, suffix, TestKafka, waitReady } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';

const EVENTS = 1_000;
const MAIN = join(process.cwd(), 'dist/apps/dispatcher/src/main.js');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('dispatcher killed with SIGKILL mid-stream (child process)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  const accountId = `acct_crash_${tag}`;
  const subscriptionId = `wh_crash_${tag}`;
  let ingest: INestApplication;
  let receiver: TestReceiver;
  let child: ChildProcess | null = null;
  const logs: string[] = [];
  let env: NodeJS.ProcessEnv;
  let port: number;

  const startChild = async () => {
    const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    child = proc;
    await waitReady(`http://127.0.0.1:${port}`, 90_000);
    return proc;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before the integration tests`);
    await ensurePlatformTopics();
    port = await freePort();
    env = appEnv(tag, { PORT: String(port), KAFKA_SESSION_TIMEOUT_MS: '6000', DISPATCH_CONCURRENCY: '64', DISPATCH_FANOUT_CONCURRENCY: '64' });
    // A receiver that takes a few ms per request, so deliveries are in flight when the kill lands.
    receiver = await startTestReceiver({ respond: () => ({ status: 200, delayMs: 3 }) });
    ingest = await startEventIngest(loadIngestConfig({ ...env, PORT: '0' }));
    await waitReady(baseUrl(ingest));
    await kafka.publishSubscription({ id: subscriptionId, accountId, url: `${receiver.url}/hook`, events: ['call.started'], secret: `secret-${tag}` });
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_CRASH_TEST) process.stdout.write(logs.join(''));
    child?.kill('SIGKILL');
    await receiver?.close();
    await kafka.deleteSubscription(subscriptionId).catch(() => undefined);
    await ingest?.close();
    await kafka.close();
  }, 60_000);

  it('every event arrives at least once, repeats with the same delivery id', async () => {
    const first = await startChild();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/routing/subscriptions/${subscriptionId}`)).status === 200, { timeoutMs: 30_000 });

    const producerIds = Array.from({ length: EVENTS }, (_, i) => `crash-${tag}-${i}`);
    let killedAt = -1;
    const production = (async () => {
      for (let i = 0; i < EVENTS; i += 10) {
        await Promise.all(
          producerIds.slice(i, i + 10).map((id, j) =>
            kafka.produceRaw(accountId, {
              ...SEED_EXAMPLES['call.started'],
              account_id: accountId,
              id,
              data: { ...SEED_EXAMPLES['call.started'].data, call_id: `call_crash${i + j}` },
            }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();

    // Kill -9 once about a third has arrived, while events are still being produced.
    await receiver.waitForCount(Math.floor(EVENTS / 3), 60_000);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    killedAt = receiver.count;
    expect(await exited).toBeDefined();
    child = null;
    await startChild();
    await production;

    const expected = new Map(producerIds.map((id) => [eventIdFor({ accountId, producerId: id, rawPosition: '' }), id]));
    const seen = () => new Set(receiver.requests.map((r) => String(r.headers['x-odis-event-id'])).filter((id) => expected.has(id)));
    await waitFor(() => seen().size === EVENTS, { timeoutMs: 120_000, intervalMs: 250, message: `all ${EVENTS} events delivered (have ${seen().size})` });

    const deliveryIdsByEvent = new Map<string, Set<string>>();
    for (const r of receiver.requests) {
      const eventId = String(r.headers['x-odis-event-id']);
      if (!expected.has(eventId)) continue;
      const set = deliveryIdsByEvent.get(eventId) ?? new Set<string>();
      set.add(String(r.headers['x-odis-delivery-id']));
      deliveryIdsByEvent.set(eventId, set);
    }
    expect(deliveryIdsByEvent.size).toBe(EVENTS);
    for (const [eventId, ids] of deliveryIdsByEvent) {
      expect([...ids]).toEqual([deliveryIdFor(eventId, subscriptionId)]);
    }
    expect(killedAt).toBeLessThan(EVENTS);
  }, 240_000);
});
