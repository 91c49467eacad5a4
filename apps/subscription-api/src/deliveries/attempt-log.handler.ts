import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { AttemptLogProjector } from './attempt-log.projector.js';

/**
 * Feeds the delivery log from `webhooks.attempts`. Returns its outcome explicitly (Nest's RPC layer
 * would hide a thrown error's class): stored → done; unusable → dead letter with the reason;
 * Postgres away → retry, so the runner waits for it and reports it on /ready.
 */
@Controller()
export class AttemptLogHandler {
  constructor(private readonly projector: AttemptLogProjector) {}

  @EventPattern(TOPICS.attempts, { groupId: 'subscription-api.attempt-log', partitionConcurrency: 16 })
  async handle(@Payload() message: InboundMessage): Promise<MessageOutcome> {
    const result = await this.projector.project(message.value);
    if (result.ok) return Outcome.done();
    return result.permanent ? Outcome.deadLetter(result.reason) : Outcome.retry(result.dependency, result.reason);
  }
}
