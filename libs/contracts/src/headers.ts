/** HTTP headers on every webhook POST. */
export const WEBHOOK_HEADERS = {
  signature: 'X-ODIS-Signature',
  /**
   * Only during a secret rotation's overlap: `sha256=<hex>` with the NEW secret, while
   * `X-ODIS-Signature` keeps the replaced one until the overlap ends (decision 0010).
   */
  signatureNext: 'X-ODIS-Signature-Next',
  event: 'X-ODIS-Event',
  eventId: 'X-ODIS-Event-Id',
  deliveryId: 'X-ODIS-Delivery-Id',
  attempt: 'X-ODIS-Attempt',
  /** Standard Webhooks (standardwebhooks.com) trio. */
  webhookId: 'webhook-id',
  webhookTimestamp: 'webhook-timestamp',
  webhookSignature: 'webhook-signature',
} as const;

/** Kafka record headers used between our services. */
export const KAFKA_HEADERS = {
  schema: 'odis-schema',
  eventType: 'odis-event-type',
  eventId: 'odis-event-id',
  deliveryId: 'odis-delivery-id',
  /** Dead-letter metadata. */
  dlqReason: 'odis-dlq-reason',
  dlqSourceTopic: 'odis-dlq-source-topic',
  dlqSourcePartition: 'odis-dlq-source-partition',
  dlqSourceOffset: 'odis-dlq-source-offset',
  dlqFailedAt: 'odis-dlq-failed-at',
  /** On a delivery job parked on a retry tier without an attempt (endpoint circuit open; decision 0014): the reason. */
  parked: 'odis-parked',
} as const;
