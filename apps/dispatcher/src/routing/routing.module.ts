import { Module } from '@nestjs/common';
import { SecretBox } from '@odis/contracts';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { RoutingTable } from './routing-table.js';
import { SubscriptionChangelogService } from './subscription-changelog.service.js';

@Module({
  providers: [
    { provide: RoutingTable, useFactory: () => new RoutingTable() },
    {
      provide: SecretBox,
      inject: [DISPATCHER_CONFIG],
      useFactory: (config: DispatcherConfig) => SecretBox.fromBase64(config.SECRET_ENCRYPTION_KEY, config.SECRET_ENCRYPTION_KEY_PREVIOUS),
    },
    SubscriptionChangelogService,
  ],
  exports: [RoutingTable, SecretBox, SubscriptionChangelogService],
})
export class RoutingModule {}
