import { Injectable, type DynamicModule } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerModule, Outcome, type ConsumerHandler, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { AttemptLogProjector } from './attempt-log.projector.js';

/**
 * Feeds the delivery log from `webhooks.attempts`: stored → done; unusable → dead letter with the
 * reason; Postgres away → retry, so the runner waits for it and reports it on /ready.
 */
@Injectable()
export class AttemptLogHandler implements ConsumerHandler {
  constructor(private readonly projector: AttemptLogProjector) {}

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const result = await this.projector.project(message.value);
    if (result.ok) return Outcome.done();
    return result.permanent ? Outcome.deadLetter(result.reason) : Outcome.retry(result.dependency, result.reason);
  }
}

/** The consumer group of the delivery log (one per deployment: every replica shares it). */
export const ATTEMPT_LOG_GROUP = 'subscription-api.attempt-log';

/** The delivery-log consumer (`webhooks.attempts`); a restarted replica gets its partitions back after the session timeout. */
export function attemptLogConsumer(sessionTimeoutMs: number): DynamicModule {
  return ConsumerModule.register({
    name: 'attempt-log-consumer',
    groupId: ATTEMPT_LOG_GROUP,
    topics: [TOPICS.attempts],
    handler: AttemptLogHandler,
    partitionConcurrency: 16,
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(sessionTimeoutMs / 10)),
  });
}
