import { Injectable } from '@nestjs/common';
import { EVENT_TOPICS, KAFKA_HEADERS, type EventType, type ValidatedEventMessage } from '@odis/contracts';
import { MessageProducer } from '@odis/messaging';

/** Publishes a validated event to `events.<type>` (key: account id); resolves once Kafka acknowledged it (acks = all). */
@Injectable()
export class ValidatedEventPublisher {
  constructor(private readonly producer: MessageProducer) {}

  async publish(event: ValidatedEventMessage): Promise<string> {
    const topic = EVENT_TOPICS[event.event as EventType];
    await this.producer.sendOne(topic, {
      key: event.account_id,
      value: JSON.stringify(event),
      headers: {
        [KAFKA_HEADERS.schema]: 'validated-event.v1',
        [KAFKA_HEADERS.eventType]: event.event,
        [KAFKA_HEADERS.eventId]: event.event_id,
      },
    });
    return topic;
  }
}
