import { odisSignature, requestedRetryDelay, standardWebhookSignature, WEBHOOK_HEADERS, type DeliveryJob } from '@odis/contracts';
import { injectIntoHttpHeaders, SpanKind, withSpan } from '@odis/platform';
import { AttemptOutcomeClassifier, type ClassifiedOutcome } from './attempt-outcome-classifier.js';
import type { WebhookHttpClient } from './webhook-http-client.js';

export const USER_AGENT = 'ODIS-Webhooks/1.0';

/** Where and how to send: the subscription's current URL and plaintext secret. */
export interface AttemptTarget {
  url: string;
  secret: string;
  /** During a secret rotation's overlap: the replaced secret and when it stops signing (epoch ms). */
  previousSecret?: string;
  previousSecretExpiresAtMs?: number;
  /** The webhook's own request headers (decision 0013): sent first, ours after them. */
  headers?: Readonly<Record<string, string>>;
}

/** The secrets one attempt is signed with: the current one, and the replaced one while its overlap lasts. */
export interface SigningSecrets {
  secret: string;
  previousSecret?: string;
  previousSecretExpiresAtMs?: number;
}

export interface AttemptResult extends ClassifiedOutcome {
  /** When the request started, epoch ms. */
  attemptedAtMs: number;
  /** The headers the request was sent with (for the delivery log). */
  requestHeaders?: Record<string, string>;
  /** The wait the receiver asked for with `Retry-After` on a 429/503 (ms, capped at 2 h); absent otherwise. */
  retryAfterMs?: number;
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

  /**
   * The headers of one attempt. During a rotation's overlap (`previousSecret` set and the attempt
   * before `previousSecretExpiresAtMs`; decision 0010): `X-ODIS-Signature` is still signed with the
   * replaced secret, so a receiver that has not switched yet keeps verifying with the seed's
   * function; `X-ODIS-Signature-Next` carries the new secret's signature; `webhook-signature` holds
   * both `v1,` entries (new first). After the overlap only the new secret signs, and there is no
   * `X-ODIS-Signature-Next`.
   */
  buildHeaders(
    job: Pick<DeliveryJob, 'delivery_id' | 'event_id' | 'event_type' | 'attempt' | 'body'>,
    secrets: string | SigningSecrets,
    nowMs: number,
  ): Record<string, string> {
    const { secret, previousSecret, previousSecretExpiresAtMs } = typeof secrets === 'string' ? { secret: secrets } : secrets;
    const overlap = previousSecret !== undefined && previousSecretExpiresAtMs !== undefined && nowMs < previousSecretExpiresAtMs;
    const timestamp = Math.floor(nowMs / 1000);
    const standard = standardWebhookSignature(secret, job.delivery_id, timestamp, job.body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      [WEBHOOK_HEADERS.signature]: odisSignature(overlap ? previousSecret : secret, job.body),
      [WEBHOOK_HEADERS.event]: job.event_type,
      [WEBHOOK_HEADERS.eventId]: job.event_id,
      [WEBHOOK_HEADERS.deliveryId]: job.delivery_id,
      [WEBHOOK_HEADERS.attempt]: String(job.attempt),
      [WEBHOOK_HEADERS.webhookId]: job.delivery_id,
      [WEBHOOK_HEADERS.webhookTimestamp]: String(timestamp),
      [WEBHOOK_HEADERS.webhookSignature]: overlap ? `${standard} ${standardWebhookSignature(previousSecret, job.delivery_id, timestamp, job.body)}` : standard,
    };
    if (overlap) headers[WEBHOOK_HEADERS.signatureNext] = odisSignature(secret, job.body);
    return headers;
  }

  async attempt(job: Pick<DeliveryJob, 'delivery_id' | 'event_id' | 'event_type' | 'attempt' | 'body'>, target: AttemptTarget): Promise<AttemptResult> {
    const attemptedAtMs = this.now();
    const signed = this.buildHeaders(job, target, attemptedAtMs);
    // The API refuses reserved names (contracts' customHeadersProblem), so ours never collide; they
    // are spread last all the same.
    const headers = target.headers ? { ...target.headers, ...signed } : signed;
    // The attempt's span (decision 0018): the POST carries its `traceparent`, so the receiver sees the event's trace id.
    const outcome = await withSpan(
      'attempt',
      (span) => {
        injectIntoHttpHeaders(headers);
        return this.client.post(target.url, job.body, headers).then((o) => {
          span.setAttribute('http.response.status_code', o.kind === 'response' ? o.statusCode : 0);
          return o;
        });
      },
      { kind: SpanKind.CLIENT, attributes: { 'odis.attempt': job.attempt } },
    );
    const result: AttemptResult = { ...this.classifier.classify(outcome), attemptedAtMs, requestHeaders: headers };
    const retryAfterMs = outcome.kind === 'response' ? requestedRetryDelay(outcome.statusCode, outcome.retryAfter, this.now()) : null;
    if (retryAfterMs !== null) result.retryAfterMs = retryAfterMs;
    return result;
  }
}
