import { TOPICS, type DeliveryJob } from '@odis/contracts';
import type { MessageProducer } from '@odis/messaging';
import type { DeliveryPublisher } from './retry.handler.js';

/** Republishes a due job to `webhooks.deliveries` (key: subscription id), byte for byte. */
export class KafkaDeliveryPublisher implements DeliveryPublisher {
  constructor(
    private readonly producer: Pick<MessageProducer, 'sendOne'>,
    private readonly topic: string = TOPICS.deliveries,
  ) {}

  publish(job: DeliveryJob, raw: Buffer, headers: Record<string, string>): Promise<void> {
    return this.producer.sendOne(this.topic, { key: job.subscription_id, value: raw, headers });
  }
}
