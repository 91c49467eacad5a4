/** The subscription-api and a dispatcher, in-process on the real Kafka and Postgres, for the end-to-end tests of the API's delivery features. */
import type { INestApplication } from '@nestjs/common';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startSubscriptionApi } from '../api/subscription-api.harness.js';
import { TOPICS } from '@odis/contracts';
import { ATTEMPT_LOG_GROUP } from '../../apps/subscription-api/src/deliveries/attempt-log.handler.js';
import { appEnv, baseUrl, ensurePlatformTopics, waitReady } from '../dispatch/support.js';
import { connection, withAdmin } from '../retry/retry-test-kit.js';
import { waitFor } from '../support/infra.js';

export interface ApiAndDispatcher {
  api: INestApplication;
  dispatcher: INestApplication;
  dispatcherUrl: string;
}

/** Topics, the API (with the attempt-log consumer unless `apiEnv` says otherwise) and a ready dispatcher. */
export async function startApiAndDispatcher(tag: string, apiEnv: Record<string, string> = { WITH_ATTEMPT_CONSUMER: 'true' }): Promise<ApiAndDispatcher> {
  await ensurePlatformTopics();
  const api = await startSubscriptionApi(apiEnv);
  const dispatcher = await startDispatcher(loadDispatcherConfig(appEnv(tag)));
  const dispatcherUrl = baseUrl(dispatcher);
  await waitReady(dispatcherUrl);
  if (apiEnv.WITH_ATTEMPT_CONSUMER === 'true') await attemptLogCaughtUp();
  return { api, dispatcher, dispatcherUrl };
}

/**
 * Waits until the delivery-log group (one fixed group, shared by every suite's API) has committed up
 * to the end `webhooks.attempts` had when called: suites that ran without it leave attempt records
 * behind, and a suite that asserts on the delivery log (or a test event, which waits 15 s for its
 * record) must not race that backlog.
 */
export async function attemptLogCaughtUp(timeoutMs = 120_000): Promise<void> {
  const conn = connection(); // admin clients only: each withAdmin connects and disconnects its own
  const ends = await withAdmin(conn, (admin) => admin.fetchTopicOffsets(TOPICS.attempts));
  await waitFor(
    () =>
      withAdmin(conn, async (admin) => {
        const [entry] = await admin.fetchOffsets({ groupId: ATTEMPT_LOG_GROUP, topics: [TOPICS.attempts] });
        const committed = new Map(entry!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
        return ends.every((e) => BigInt(e.high) === 0n || (committed.get(e.partition) ?? -1n) >= BigInt(e.high));
      }),
    { timeoutMs, intervalMs: 250, message: `${ATTEMPT_LOG_GROUP} caught up with ${TOPICS.attempts}` },
  );
}
