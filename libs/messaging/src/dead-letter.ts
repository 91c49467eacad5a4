import { KAFKA_HEADERS } from '@odis/contracts';
import type { InboundMessage, OutboundMessage } from './message.types.js';

/** Longest reason kept in the header; the rest is cut (headers are not meant for stack traces). */
export const MAX_DLQ_REASON_LENGTH = 1_000;

/**
 * The dead-letter record of a consumed message: its original key, value and headers, plus the
 * `odis-dlq-*` headers saying why, from where and when.
 */
export function buildDeadLetterRecord(message: InboundMessage, reason: string, failedAt: Date = new Date()): OutboundMessage {
  const cut = reason.length > MAX_DLQ_REASON_LENGTH ? `${reason.slice(0, MAX_DLQ_REASON_LENGTH - 1)}…` : reason;
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [KAFKA_HEADERS.dlqReason]: cut || 'unknown',
      [KAFKA_HEADERS.dlqSourceTopic]: message.topic,
      [KAFKA_HEADERS.dlqSourcePartition]: String(message.partition),
      [KAFKA_HEADERS.dlqSourceOffset]: message.offset,
      [KAFKA_HEADERS.dlqFailedAt]: failedAt.toISOString(),
    },
  };
}
