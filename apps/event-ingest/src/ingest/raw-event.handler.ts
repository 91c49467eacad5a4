import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import type { ValidatedEventMessage } from '@odis/contracts';
import { describeValidationError, type EventValidator } from '../validation/event-validator.js';
import type { IngestStats } from './ingest-stats.js';

/**
 * `telephony.events.raw` → validated event on its topic, or a dead letter (the original bytes, the
 * reason in `odis-dlq-reason`) to `telephony.events.dlq`. A bad message never stops the consumer; a
 * failing publish throws, so the runner retries it (it is never dead-lettered for Kafka's sake).
 */
export class RawEventHandler {
  constructor(
    private readonly validator: EventValidator,
    private readonly publish: (event: ValidatedEventMessage) => Promise<unknown>,
    private readonly stats: IngestStats,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const result = this.validator.validate(message.value, { rawPosition: `${message.partition}:${message.offset}`, receivedAt: this.now(), ingestSeq: Number(message.offset) });
    if (!result.ok) {
      this.stats.recordRejected(result.error.code);
      return Outcome.deadLetter(describeValidationError(result.error));
    }
    await this.publish(result.event);
    this.stats.recordAccepted('kafka', result.droppedFields, result.event.event);
    return Outcome.done();
  }
}
