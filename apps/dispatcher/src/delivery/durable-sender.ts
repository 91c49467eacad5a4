import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { MessageProducer, type OutboundMessage } from '@odis/messaging';
import { classifyFailure } from '@odis/platform';
import { retryWithBackoff } from '@odis/config';

/**
 * Produces records that must not be lost (attempt outcomes, retries, hand-offs): a failed send is
 * retried with backoff until Kafka acknowledges it, instead of failing the message (which would
 * repeat its HTTP attempts). Gives up only once the app is shutting down; the message then stays
 * uncommitted and is handled again after the restart. A permanent failure (a record Kafka can never
 * take, e.g. too large) is not retried: it is thrown, and the consumer dead-letters the message.
 */
@Injectable()
export class DurableSender implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DurableSender');
  private readonly abort = new AbortController();
  private closing = false;

  constructor(private readonly producer: MessageProducer) {}

  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    return retryWithBackoff(() => this.producer.send(topic, messages), {
      signal: this.abort.signal,
      initialMs: 200,
      maxMs: 5_000,
      retryIf: (err) => classifyFailure(err).kind !== 'permanent',
      onError: (err, attempt, wait) => this.logger.warn(`produce to ${topic} failed (attempt ${attempt}): ${(err as Error).message}; retrying in ${wait} ms`),
    });
  }

  /** Called by the consumers once they drained (so in-flight deliveries may still record). */
  close(): void {
    this.closing = true;
    this.abort.abort();
  }

  beforeApplicationShutdown(): void {
    // The consumers' own shutdown (same phase) drains first; anything still retrying gives up after.
    if (!this.closing) setTimeout(() => this.close(), 20_000).unref();
  }
}
