import { Inject, Injectable } from '@nestjs/common';
import type { EventType } from '@odis/contracts';
import { ApiError } from '@odis/platform';
import { SubscriptionStore } from '@odis/subscriptions';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import { DeliveryJobQueue } from '../deliveries/delivery-job.queue.js';
import { DeliveryLogRepository } from '../deliveries/delivery-log.repository.js';
import { buildTestDelivery, presentTestResult, waitFor, type LoggedAttempt } from './test-event.js';

/** How often the API looks for the test attempt's delivery-log row while it waits. */
const POLL_INTERVAL_MS = 100;

/**
 * Test events (issue 11 item 4). A test goes through the normal path, so it is signed (with the
 * webhook's current secret, both during a rotation's overlap), SSRF-checked by the dispatcher's
 * guarded lookup and logged like any attempt: the API produces a manual test DeliveryJob to
 * `webhooks.deliveries`, the dispatcher attempts it once (never retried, never counted towards
 * disabling) and records the attempt on `webhooks.attempts`, which this API projects into the
 * delivery log; the API waits (polling the delivery log by delivery id, at most
 * WEBHOOK_TEST_TIMEOUT_MS) for that row and answers with it. Polling rather than a wake-up from the
 * projector: the attempt's partition may be consumed by another API instance.
 *
 * A disabled webhook can be tested (useful before re-enabling it); so can any event type, subscribed
 * or not. Another account's (or a deleted) webhook is a 404; Kafka away is a 503 with Retry-After
 * (nothing was sent); no outcome in time is a 504 (the attempt may still happen and then shows in
 * the delivery log under the returned delivery id).
 */
@Injectable()
export class TestEventService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly queue: DeliveryJobQueue,
    private readonly log: DeliveryLogRepository,
    @Inject(SUBSCRIPTION_API_CONFIG) private readonly config: SubscriptionApiConfig,
  ) {}

  async send(accountId: string, id: string, eventType: EventType) {
    const webhook = await this.store.get(accountId, id);
    if (!webhook) throw ApiError.notFound('webhook', id);
    const started = Date.now();
    const job = buildTestDelivery(webhook, eventType, started);
    const timeoutMs = this.config.WEBHOOK_TEST_TIMEOUT_MS;
    await this.queue.enqueue(job, 'the test event');
    const attempt = await waitFor(() => this.findAttempt(accountId, id, job.delivery_id), {
      timeoutMs: Math.max(0, timeoutMs - (Date.now() - started)),
      intervalMs: POLL_INTERVAL_MS,
    });
    if (!attempt) {
      throw new ApiError(
        504,
        'test_event_timeout',
        `the test event (delivery ${job.delivery_id}) was sent to the dispatcher but its attempt was not recorded within ${timeoutMs} ms; it may still be attempted and then appears in the delivery log`,
        undefined,
        { 'X-ODIS-Delivery-Id': job.delivery_id },
      );
    }
    return presentTestResult(attempt);
  }

  private async findAttempt(accountId: string, subscriptionId: string, deliveryId: string): Promise<LoggedAttempt | undefined> {
    const rows = await this.log.delivery(accountId, subscriptionId, deliveryId);
    return rows[0];
  }
}
