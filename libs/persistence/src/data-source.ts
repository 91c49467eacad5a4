import { DataSource, type DataSourceOptions } from 'typeorm';
import { AccountEntity } from './entities/account.entity.js';
import { ApiKeyEntity } from './entities/api-key.entity.js';
import { DeliveryAttemptEntity } from './entities/delivery-attempt.entity.js';
import { NotificationLogEntity } from './entities/notification-log.entity.js';
import { OutboxEntity } from './entities/outbox.entity.js';
import { SubscriptionEventEntity } from './entities/subscription-event.entity.js';
import { SubscriptionEntity } from './entities/subscription.entity.js';
import { InitialSchema1764200000000 } from './migrations/1764200000000-initial-schema.js';
import { OutboxRelayLease1764300000002 } from './migrations/1764300000002-outbox-relay-lease.js';

export const ALL_ENTITIES = [
  AccountEntity,
  ApiKeyEntity,
  SubscriptionEntity,
  SubscriptionEventEntity,
  OutboxEntity,
  NotificationLogEntity,
  DeliveryAttemptEntity,
];
export const ALL_MIGRATIONS = [InitialSchema1764200000000, OutboxRelayLease1764300000002];

/**
 * Options for one owning app. `synchronize` is off and migrations never run on import: they run
 * with `npm run migrate` (libs/persistence/src/cli/migrate.ts) or `runMigrations(url)`.
 */
export function dataSourceOptions(url: string, overrides: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ALL_ENTITIES,
    migrations: ALL_MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    // Expected conflicts (optimistic concurrency) are not errors: query logging only on demand.
    logging: process.env.DATABASE_LOG === 'true' ? 'all' : false,
    extra: { max: Number(process.env.DATABASE_POOL_SIZE ?? 10) },
    ...overrides,
  } as DataSourceOptions;
}

/** Applies pending migrations; returns the names of the ones it ran. */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url, { extra: { max: 1 } }));
  await ds.initialize();
  try {
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
