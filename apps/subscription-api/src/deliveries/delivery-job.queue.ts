import { Injectable } from '@nestjs/common';
import { DeliveryJobCodec, TOPICS, type DeliveryJob } from '@odis/contracts';
import { ApiError, PermanentFailureError } from '@odis/platform';

/** The producer part the API needs to queue a delivery job (MessageProducer has it). */
export abstract class DeliveryJobSink {
  abstract send(topic: string, messages: { key: string; value: string; headers: Record<string, string> }[]): Promise<void>;
}

/** How long the API waits for Kafka's acknowledgement of a job it queued before it answers 503. */
export const DELIVERY_JOB_ACK_TIMEOUT_MS = 5_000;

/**
 * Puts one delivery job the API made (a redelivery, a test event) on `webhooks.deliveries`: resolves
 * once Kafka acknowledged it. A Kafka that refuses it or does not answer within the timeout is a 503
 * with Retry-After; the job may still arrive later (receivers de-duplicate by event id).
 */
@Injectable()
export class DeliveryJobQueue {
  constructor(private readonly sink: DeliveryJobSink) {}

  async enqueue(job: DeliveryJob, what: string, timeoutMs = DELIVERY_JOB_ACK_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const acked = this.sink.send(TOPICS.deliveries, [DeliveryJobCodec.encode(job)]);
    acked.catch(() => undefined); // after the timeout, a late failure has nobody to tell
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement from Kafka within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([acked, timeout]);
    } catch (error) {
      if (error instanceof PermanentFailureError) throw error;
      throw ApiError.unavailable(2, `${what} could not be queued (delivery ${job.delivery_id}; Kafka is not reachable); retry shortly`);
    } finally {
      clearTimeout(timer);
    }
  }
}
