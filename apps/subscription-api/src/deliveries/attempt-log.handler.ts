import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { AttemptLogProjector } from './attempt-log.projector.js';

/** Feeds the delivery log from `webhooks.attempts`. */
@Controller()
export class AttemptLogHandler {
  constructor(private readonly projector: AttemptLogProjector) {}

  @EventPattern(TOPICS.attempts, { groupId: 'subscription-api.attempt-log', partitionConcurrency: 16 })
  async handle(@Payload() message: InboundMessage): Promise<MessageOutcome> {
    const result = await this.projector.project(message.value);
    return result.ok ? Outcome.done() : Outcome.deadLetter(result.reason);
  }
}
