import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerRunner, KafkaConnection, MessageProducer, runnerReadiness } from '@odis/messaging';
import { DatabaseConnector } from '@odis/persistence';
import { ReadinessRegistry } from '@odis/platform';
import { AccountDirectory, SubscriptionStore } from '@odis/subscriptions';
import { DisabledWebhookEmail } from './disabled-webhook-email.js';
import { ExhaustedHandler } from './exhausted.handler.js';
import { NOTIFICATION_LOG, type NotificationLogRepository } from './notification-log.js';
import { NotificationSender } from './notification-sender.js';
import { NOTIFIER_CONFIG, type NotifierConfig } from './notifier.config.js';
import { SmtpMailTransport } from './smtp.transport.js';

/**
 * The notifier's two loops: the consumer of `webhooks.exhausted` (disable + record the email owed,
 * then commit) and the sender of the notification log (SMTP, retried with backoff). Both start once
 * the database is connected.
 */
@Injectable()
export class NotifierService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Notifier');
  readonly runner: ConsumerRunner;
  readonly sender: NotificationSender;
  readonly handler: ExhaustedHandler;
  private readonly transport: SmtpMailTransport;
  private stopping = false;

  constructor(
    @Inject(NOTIFIER_CONFIG) config: NotifierConfig,
    connection: KafkaConnection,
    producer: MessageProducer,
    store: SubscriptionStore,
    accounts: AccountDirectory,
    @Inject(NOTIFICATION_LOG) notifications: NotificationLogRepository,
    private readonly database: DatabaseConnector,
    readiness: ReadinessRegistry,
  ) {
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
    this.runner = new ConsumerRunner(
      connection,
      {
        groupId: config.NOTIFIER_GROUP,
        topics: [TOPICS.exhausted],
        handler: (m) => this.handler.handle(m),
        partitionConcurrency: 1,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        heartbeatIntervalMs: Math.max(1_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 10)),
        logger: new Logger('ExhaustedConsumer'),
      },
      { producer },
    );
    readiness.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
    readiness.register('exhausted-consumer', () => {
      const r = runnerReadiness(this.runner);
      return { ok: r.ok, detail: r.ok ? undefined : (r.detail ?? 'joining') };
    });
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    await this.database.connect();
    if (this.stopping) return;
    this.sender.start();
    await this.runner.start().catch((err: Error) => {
      if (!this.stopping) this.logger.error(`exhausted consumer failed to start: ${err.message}`);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.runner.stop();
    await this.sender.stop();
    this.transport.close();
  }
}
