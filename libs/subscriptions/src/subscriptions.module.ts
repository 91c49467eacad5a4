import { Module } from '@nestjs/common';
import { AccountDirectory } from './account.directory.js';
import { SubscriptionStore } from './subscription.store.js';

/** Needs `DatabaseModule.forRoot(url)` (from @odis/persistence) imported by the app. */
@Module({
  providers: [SubscriptionStore, AccountDirectory],
  exports: [SubscriptionStore, AccountDirectory],
})
export class SubscriptionsModule {}
