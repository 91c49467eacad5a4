import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerModule, consumerToken, startAfter, type ConsumerRunner } from '@odis/messaging';
import { DatabaseConnector } from '@odis/persistence';
import { AccountDirectory, SubscriptionStore } from '@odis/subscriptions';
import { DisabledWebhookEmail } from './disabled-webhook-email.js';
import { ExhaustedHandler } from './exhausted.handler.js';
import { NOTIFICATION_LOG, type NotificationLogRepository } from './notification-log.js';
import { NotificationSender } from './notification-sender.js';
import { NOTIFIER_CONFIG, type NotifierConfig } from './notifier.config.js';
import { SmtpMailTransport } from './smtp.transport.js';

const NAME = 'exhausted-consumer';

/**
 * The notifier's two loops: the consumer of `webhooks.exhausted` (above) and the sender of the
 * notification log (SMTP, retried with backoff). Both start once the database is connected.
 */
@Injectable()
export class NotifierService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Notifier');
  readonly sender: NotificationSender;
  readonly handler: ExhaustedHandler;
  /** Resolves once the database is connected and the sender runs (the consumer's start gate). */
  readonly running: Promise<void>;
  private markRunning!: () => void;
  private readonly transport: SmtpMailTransport;
  private stopping = false;

  constructor(
    @Inject(NOTIFIER_CONFIG) config: NotifierConfig,
    store: SubscriptionStore,
    accounts: AccountDirectory,
    @Inject(NOTIFICATION_LOG) notifications: NotificationLogRepository,
    private readonly database: DatabaseConnector,
    @Inject(consumerToken(NAME)) readonly runner: ConsumerRunner,
  ) {
    this.running = new Promise((resolve) => (this.markRunning = resolve));
    this.transport = new SmtpMailTransport({ url: config.SMTP_URL, timeoutMs: config.SMTP_TIMEOUT_MS });
    this.sender = new NotificationSender(notifications, this.transport, {
      from: config.MAIL_FROM,
      initialBackoffMs: config.NOTIFIER_RETRY_INITIAL_MS,
      maxBackoffMs: config.NOTIFIER_RETRY_MAX_MS,
      pollMs: config.NOTIFIER_POLL_MS,
      leaseMs: Math.max(60_000, config.SMTP_TIMEOUT_MS * 6),
      logger: new Logger('NotificationSender'),
    });
    this.handler = new ExhaustedHandler({
      disabler: store,
      accounts,
      notifications,
      email: new DisabledWebhookEmail({ apiBaseUrl: config.PUBLIC_API_URL, dashboardUrl: config.DASHBOARD_URL }),
      onQueued: () => this.sender.wake(),
      logger: new Logger('ExhaustedHandler'),
    });
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

export const exhaustedHandlerProvider: Provider = {
  provide: ExhaustedHandler,
  inject: [NotifierService],
  useFactory: (notifier: NotifierService) => notifier.handler,
};
