import { Injectable } from '@nestjs/common';
import { EVENT_TOPICS, ValidatedEventCodec, type EventType, type ValidatedEventMessage } from '@odis/contracts';
import { MessageProducer } from '@odis/messaging';

/** Publishes a validated event to `events.<type>` (key: account id); resolves once Kafka acknowledged it (acks = all). */
@Injectable()
export class ValidatedEventPublisher {
  constructor(private readonly producer: MessageProducer) {}

  async publish(event: ValidatedEventMessage): Promise<string> {
    const topic = EVENT_TOPICS[event.event as EventType];
    await this.producer.sendOne(topic, ValidatedEventCodec.encode(event));
    return topic;
  }
}
