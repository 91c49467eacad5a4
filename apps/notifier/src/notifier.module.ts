import { kafkaSecurityOf } from '@odis/config';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { MessagingModule } from '@odis/messaging';
import { DatabaseModule, databaseSettingsFrom, PgListener } from '@odis/persistence';
import { HealthModule } from '@odis/platform';
import { AccountDirectory, OutboxModule, SubscriptionsModule, SubscriptionStore } from '@odis/subscriptions';
import { DisabledWebhookEmail } from './exhausted/disabled-webhook-email.js';
import { ExhaustedHandler } from './exhausted/exhausted.handler.js';
import { NotificationLogRepository } from './notifications/notification-log.js';
import { NOTIFICATION_CHANNEL, SqlNotificationLogRepository } from './notifications/notification-log.repository.js';
import { MailTransport, NotificationSender } from './notifications/notification-sender.js';
import { NOTIFIER_CONFIG, type NotifierConfig } from './config/notifier.config.js';
import { exhaustedConsumer, NotifierService } from './notifier.service.js';
import { SmtpMailTransport } from './notifications/smtp.transport.js';

/** The notifier's object graph: each collaborator a provider, built from the settings. */
function notifierProviders(config: NotifierConfig): Provider[] {
  return [
    { provide: NOTIFIER_CONFIG, useValue: config },
    { provide: NotificationLogRepository, useClass: SqlNotificationLogRepository },
    { provide: MailTransport, useFactory: () => new SmtpMailTransport({ url: config.SMTP_URL, timeoutMs: config.SMTP_TIMEOUT_MS }) },
    {
      provide: NotificationSender,
      inject: [NotificationLogRepository, MailTransport],
      useFactory: (log: NotificationLogRepository, transport: MailTransport) => {
        let sender: NotificationSender | undefined;
        // A row inserted by any replica wakes this one at once; NOTIFIER_POLL_MS is only the safety net.
        const listener = new PgListener({ databaseUrl: config.DATABASE_URL, channel: NOTIFICATION_CHANNEL, onWake: () => sender?.wake() });
        sender = new NotificationSender(log, transport, {
          from: config.MAIL_FROM,
          listener,
          initialBackoffMs: config.NOTIFIER_RETRY_INITIAL_MS,
          maxBackoffMs: config.NOTIFIER_RETRY_MAX_MS,
          pollMs: config.NOTIFIER_POLL_MS,
          leaseMs: Math.max(60_000, config.SMTP_TIMEOUT_MS * 6),
        });
        return sender;
      },
    },
    { provide: DisabledWebhookEmail, useFactory: () => new DisabledWebhookEmail({ apiBaseUrl: config.PUBLIC_API_URL, dashboardUrl: config.DASHBOARD_URL }) },
    {
      provide: ExhaustedHandler,
      inject: [SubscriptionStore, AccountDirectory, NotificationLogRepository, DisabledWebhookEmail, NotificationSender],
      useFactory: (store: SubscriptionStore, accounts: AccountDirectory, notifications: NotificationLogRepository, email: DisabledWebhookEmail, sender: NotificationSender) =>
        new ExhaustedHandler({ disabler: store, accounts, notifications, email, onQueued: () => sender.wake() }),
    },
    NotifierService,
  ];
}

/** The notifier: disables exhausted webhooks and emails their accounts, exactly once per disabling. */
@Module({})
export class NotifierModule {
  static forRoot(config: NotifierConfig): DynamicModule {
    return {
      module: NotifierModule,
      imports: [
        HealthModule.forRoot('notifier'),
        DatabaseModule.forRoot(config.DATABASE_URL, databaseSettingsFrom(config)),
        MessagingModule.forRoot({ clientId: 'notifier', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) }),
        SubscriptionsModule,
        // The disabling it writes reaches the dispatchers through the outbox even while the API is down.
        OutboxModule.forRoot({ databaseUrl: config.DATABASE_URL, pollIntervalMs: config.OUTBOX_POLL_MS, fencingWindowMs: config.OUTBOX_FENCING_WINDOW_MS }),
        exhaustedConsumer(config),
      ],
      providers: notifierProviders(config),
    };
  }
}
