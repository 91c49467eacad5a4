import { odisSignature, standardWebhookSignature, WEBHOOK_HEADERS, type DeliveryJob } from '@odis/contracts';
import { AttemptOutcomeClassifier, type ClassifiedOutcome } from './attempt-outcome-classifier.js';
import type { WebhookHttpClient } from './webhook-http-client.js';

export const USER_AGENT = 'ODIS-Webhooks/1.0';

/** Where and how to send: the subscription's current URL and plaintext secret. */
export interface AttemptTarget {
  url: string;
  secret: string;
}

export interface AttemptResult extends ClassifiedOutcome {
  /** When the request started, epoch ms. */
  attemptedAtMs: number;
}

/**
 * Performs one attempt of a delivery: signs the exact body bytes and POSTs them with the headers of
 * the public page (`X-ODIS-Signature: sha256=…`), the ids, the attempt number and the Standard
 * Webhooks trio (`webhook-id` = delivery id, `webhook-timestamp` = now in seconds,
 * `webhook-signature` = `v1,<base64>` over `id.timestamp.body`). The HTTP client sits behind an
 * interface (got in production, a fake in specs).
 */
export class DeliveryAttempter {
  constructor(
    private readonly client: WebhookHttpClient,
    private readonly classifier: AttemptOutcomeClassifier = new AttemptOutcomeClassifier(),
    private readonly now: () => number = Date.now,
  ) {}

  buildHeaders(job: Pick<DeliveryJob, 'delivery_id' | 'event_id' | 'event_type' | 'attempt' | 'body'>, secret: string, nowMs: number): Record<string, string> {
    const timestamp = Math.floor(nowMs / 1000);
    return {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      [WEBHOOK_HEADERS.signature]: odisSignature(secret, job.body),
      [WEBHOOK_HEADERS.event]: job.event_type,
      [WEBHOOK_HEADERS.eventId]: job.event_id,
      [WEBHOOK_HEADERS.deliveryId]: job.delivery_id,
      [WEBHOOK_HEADERS.attempt]: String(job.attempt),
      [WEBHOOK_HEADERS.webhookId]: job.delivery_id,
      [WEBHOOK_HEADERS.webhookTimestamp]: String(timestamp),
      [WEBHOOK_HEADERS.webhookSignature]: standardWebhookSignature(secret, job.delivery_id, timestamp, job.body),
    };
  }

  async attempt(job: Pick<DeliveryJob, 'delivery_id' | 'event_id' | 'event_type' | 'attempt' | 'body'>, target: AttemptTarget): Promise<AttemptResult> {
    const attemptedAtMs = this.now();
    const headers = this.buildHeaders(job, target.secret, attemptedAtMs);
    const outcome = await this.client.post(target.url, job.body, headers);
    return { ...this.classifier.classify(outcome), attemptedAtMs };
  }
}
