import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerModule, consumerToken, startAfter, type ConsumerRunner } from '@odis/messaging';
import { DatabaseConnector } from '@odis/persistence';
import { ExhaustedHandler } from './exhausted/exhausted.handler.js';
import { MailTransport, NotificationSender } from './notifications/notification-sender.js';
import type { NotifierConfig } from './config/notifier.config.js';

const NAME = 'exhausted-consumer';

/**
 * The notifier's lifecycle: once the database is connected, the sender of the notification log
 * (SMTP, retried with backoff) starts, and then the consumer of `webhooks.exhausted` (its start
 * gate is `running`). At shutdown the consumer drains first, then the sender, then SMTP closes.
 */
@Injectable()
export class NotifierService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Notifier');
  /** Resolves once the database is connected and the sender runs (the consumer's start gate). */
  readonly running: Promise<void>;
  private markRunning!: () => void;
  private stopping = false;

  constructor(
    readonly sender: NotificationSender,
    readonly handler: ExhaustedHandler,
    private readonly transport: MailTransport,
    private readonly database: DatabaseConnector,
    @Inject(consumerToken(NAME)) readonly runner: ConsumerRunner,
  ) {
    this.running = new Promise((resolve) => (this.markRunning = resolve));
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      await this.database.connect();
    } catch (error) {
      if (!this.stopping) this.logger.error(`database connect failed: ${(error as Error).message}`);
      return;
    }
    if (this.stopping) return;
    this.sender.start();
    this.markRunning();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.runner.stop(); // idempotent: waits for the consumer's own stop (ConsumerModule)
    await this.sender.stop();
    this.transport.close();
  }
}

/**
 * The consumer of `webhooks.exhausted` (disable + record the email owed, then commit). It starts
 * once the notifier's loops run (database connected, sender started).
 */
export function exhaustedConsumer(config: NotifierConfig): DynamicModule {
  return ConsumerModule.register({
    name: NAME,
    groupId: config.NOTIFIER_GROUP,
    topics: [TOPICS.exhausted],
    handler: ExhaustedHandler,
    partitionConcurrency: 1,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 10)),
    loggerName: 'ExhaustedConsumer',
    startAfter: startAfter(NotifierService, (n) => n.running, 'the database'),
  });
}
