import { Injectable } from '@nestjs/common';
import { firstAttemptJob, newId, type EventType } from '@odis/contracts';
import { ApiError } from '@odis/platform';
import { SubscriptionStore } from '@odis/subscriptions';
import { DeliveryJobQueue } from './delivery-job.queue.js';
import { DeliveryLogRepository } from './delivery-log.repository.js';

/** The 202 answer of a redelivery. */
export interface Redelivery {
  object: 'delivery';
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  url: string;
  status: 'queued';
  manual: true;
  redelivery_of: string;
  created_at: string;
}

/**
 * Sends one logged delivery again (`POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`):
 * the same body bytes and event id (so receivers de-duplicate), a new delivery id, the webhook's
 * current URL and secret, as a manual job (one attempt, no retries, never counts toward disabling).
 * Answers only once Kafka has acknowledged the job; a Kafka that does not answer within
 * {@link DELIVERY_JOB_ACK_TIMEOUT_MS} is a 503 (the job may still arrive: receivers de-duplicate by event id).
 */
@Injectable()
export class RedeliveryService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly log: DeliveryLogRepository,
    private readonly queue: DeliveryJobQueue,
  ) {}

  async redeliver(accountId: string, webhookId: string, deliveryId: string, now: Date = new Date()): Promise<Redelivery> {
    const webhook = await this.store.get(accountId, webhookId);
    if (!webhook || webhook.deletedAt) throw ApiError.notFound('webhook', webhookId);
    const stored = await this.log.deliveryBody(accountId, webhookId, deliveryId);
    if (stored.kind === 'absent') throw ApiError.notFound('delivery', deliveryId);
    if (webhook.status !== 'active') {
      throw new ApiError(409, 'webhook_disabled', `webhook ${webhookId} is disabled: re-enable it (PATCH /v1/webhooks/${webhookId} {"status":"active"}) before redelivering`);
    }
    if (stored.kind === 'not_stored') {
      throw new ApiError(
        409,
        'body_not_stored',
        `the body of delivery ${deliveryId} is not stored (it was logged before bodies were kept), so it cannot be sent again byte for byte`,
      );
    }
    const job = firstAttemptJob(
      {
        delivery_id: newId('dlv'),
        event_id: stored.eventId,
        event_type: stored.eventType as EventType,
        account_id: accountId,
        subscription_id: webhookId,
        url: webhook.url,
        secret_encrypted: webhook.secretEncrypted,
        body: stored.body,
      },
      now.getTime(),
      now.toISOString(),
      { manual: true },
    );
    await this.queue.enqueue(job, 'the redelivery');
    return {
      object: 'delivery',
      id: job.delivery_id,
      webhook_id: webhookId,
      event_id: job.event_id,
      event_type: job.event_type,
      url: job.url,
      status: 'queued',
      manual: true,
      redelivery_of: deliveryId,
      created_at: job.created_at,
    };
  }

}
