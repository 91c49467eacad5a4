import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@odis/messaging';
import { DatabaseModule, databaseSettingsFrom } from '@odis/persistence';
import { HealthModule } from '@odis/platform';
import { SubscriptionsModule } from '@odis/subscriptions';
import { NOTIFICATION_LOG } from './notification-log.js';
import { SqlNotificationLogRepository } from './notification-log.repository.js';
import { NOTIFIER_CONFIG, type NotifierConfig } from './notifier.config.js';
import { exhaustedConsumer, exhaustedHandlerProvider, NotifierService } from './notifier.service.js';

/** The notifier: disables exhausted webhooks and emails their accounts, exactly once per disabling. */
@Module({})
export class NotifierModule {
  static forRoot(config: NotifierConfig): DynamicModule {
    return {
      module: NotifierModule,
      imports: [
        HealthModule.forRoot('notifier'),
        DatabaseModule.forRoot(config.DATABASE_URL, databaseSettingsFrom(config)),
        MessagingModule.forRoot({ clientId: 'notifier', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL }),
        SubscriptionsModule,
        exhaustedConsumer(config),
      ],
      providers: [
        { provide: NOTIFIER_CONFIG, useValue: config },
        { provide: NOTIFICATION_LOG, useClass: SqlNotificationLogRepository },
        NotifierService,
        exhaustedHandlerProvider,
      ],
    };
  }
}
