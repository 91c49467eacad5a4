/** The subscription-api and a dispatcher, in-process on the real Kafka and Postgres, for the end-to-end tests of the API's delivery features. */
import type { INestApplication } from '@nestjs/common';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startSubscriptionApi } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, ensurePlatformTopics, waitReady } from '../dispatch/support.js';

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
  return { api, dispatcher, dispatcherUrl };
}
