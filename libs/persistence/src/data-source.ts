import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { documented, settings } from '@odis/config';
import { AccountEntity } from './entities/account.entity.js';
import { ApiKeyEntity } from './entities/api-key.entity.js';
import { DeliveryAttemptEntity } from './entities/delivery-attempt.entity.js';
import { DeliveryBodyEntity } from './entities/delivery-body.entity.js';
import { NotificationLogEntity } from './entities/notification-log.entity.js';
import { OutboxEntity } from './entities/outbox.entity.js';
import { SubscriptionEventEntity } from './entities/subscription-event.entity.js';
import { SubscriptionEntity } from './entities/subscription.entity.js';
import { InitialSchema1764200000000 } from './migrations/1764200000000-initial-schema.js';
import { OutboxRelayLease1764300000002 } from './migrations/1764300000002-outbox-relay-lease.js';
import { DeliveryLogSearch1764400000005 } from './migrations/1764400000005-delivery-log-search.js';
import { PreviousSecret1764400000010 } from './migrations/1764400000010-previous-secret.js';
import { DeliveryRequestLog1764400000012 } from './migrations/1764400000012-delivery-request-log.js';
import { Recoveries1764500000030 } from './migrations/1764500000030-recoveries.js';
import { WebhookDeliveryControls1764600000040 } from './migrations/1764600000040-webhook-delivery-controls.js';
import { DlqReplays1764600000050 } from './migrations/1764600000050-dlq-replays.js';
import { WebhookOrdering1764700000060 } from './migrations/1764700000060-webhook-ordering.js';

export const ALL_ENTITIES = [
  AccountEntity,
  ApiKeyEntity,
  SubscriptionEntity,
  SubscriptionEventEntity,
  OutboxEntity,
  NotificationLogEntity,
  DeliveryAttemptEntity,
  DeliveryBodyEntity,
];
export const ALL_MIGRATIONS = [
  InitialSchema1764200000000,
  OutboxRelayLease1764300000002,
  DeliveryLogSearch1764400000005,
  PreviousSecret1764400000010,
  DeliveryRequestLog1764400000012,
  Recoveries1764500000030,
  WebhookDeliveryControls1764600000040,
  DlqReplays1764600000050,
  WebhookOrdering1764700000060,
];

/**
 * How long any database access may take. A Postgres that is stopped, paused (SIGSTOP) or blackholed
 * enforces nothing itself, so the two client-side bounds are what end the wait; `statement_timeout`
 * makes a healthy but slow server cancel the statement first (and keep the connection).
 */
export interface DatabaseSettings {
  /** Connections in the pool of one app. */
  poolSize: number;
  /** Longest wait for a pooled connection, including opening a new one (pg-pool `connectionTimeoutMillis`). */
  connectTimeoutMs: number;
  /** Server-side `statement_timeout` of every session; 0 = none. */
  statementTimeoutMs: number;
  /**
   * Client-side bound of one query (pg `query_timeout`); a connection whose query timed out on the
   * client is discarded, never reused. Default: statementTimeoutMs + 1 s (5 s when statements are unbounded).
   */
  queryTimeoutMs: number;
  /** Log every query (debugging only). */
  log: boolean;
}

export const DEFAULT_DATABASE_SETTINGS: Readonly<DatabaseSettings> = Object.freeze({
  poolSize: 10,
  connectTimeoutMs: 3_000,
  statementTimeoutMs: 5_000,
  queryTimeoutMs: 6_000,
  log: false,
});

/**
 * The database settings of every app that uses Postgres (spread into its settings schema), read
 * with `databaseSettingsFrom(config)`.
 */
export const databaseSettingsShape = {
  DATABASE_POOL_SIZE: settings.int(DEFAULT_DATABASE_SETTINGS.poolSize, 1, 1_000).describe('connections in the pool of one app'),
  DATABASE_CONNECT_TIMEOUT_MS: settings
    .int(DEFAULT_DATABASE_SETTINGS.connectTimeoutMs, 100, 120_000)
    .describe('longest wait for a pooled or new connection'),
  DATABASE_STATEMENT_TIMEOUT_MS: settings
    .int(DEFAULT_DATABASE_SETTINGS.statementTimeoutMs, 0, 86_400_000)
    .describe('server-side `statement_timeout` (0 = none)'),
  DATABASE_QUERY_TIMEOUT_MS: documented(settings.int(0, 0, 86_400_000), {
    description: 'client-side bound of one query (what holds when the server hangs); the connection is dropped. Empty or 0: the default',
    shownDefault: 'statement + 1000 (5000 when statements are unbounded)',
  }),
  DATABASE_LOG: settings.bool(false).describe('log every query (debugging only)'),
};

/** `DATABASE_URL` and the settings of its pool: what every app and CLI that uses Postgres spreads into its schema. */
export const databaseSettings = {
  DATABASE_URL: documented(settings.databaseUrl, { description: '`postgres://user@host:port/db`', setByLocalStack: true }),
  ...databaseSettingsShape,
};

export interface DatabaseSettingsConfig {
  DATABASE_POOL_SIZE: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_QUERY_TIMEOUT_MS: number;
  DATABASE_LOG: boolean;
}

/** `DatabaseSettings` from an app config that spread `databaseSettingsShape`. */
export function databaseSettingsFrom(config: DatabaseSettingsConfig, overrides: Partial<DatabaseSettings> = {}): DatabaseSettings {
  const statementTimeoutMs = overrides.statementTimeoutMs ?? config.DATABASE_STATEMENT_TIMEOUT_MS;
  return {
    poolSize: config.DATABASE_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs,
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS || defaultQueryTimeout(statementTimeoutMs),
    log: config.DATABASE_LOG,
    ...overrides,
  };
}

function defaultQueryTimeout(statementTimeoutMs: number): number {
  return statementTimeoutMs > 0 ? statementTimeoutMs + 1_000 : 5_000;
}

/** The message pg gives a query that passed `query_timeout` on the client. */
export const QUERY_READ_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * A pg client that closes its socket when a query passes `query_timeout` on the client: the query
 * may still be running (or the server paused) and a reused connection would queue every later query
 * behind it, or leave a half-finished transaction open for the next borrower. The closed socket
 * makes TypeORM and the pool drop the client.
 */
export class TimeBoundClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (err: Error | null, ...rest: unknown[]) => void;
      args[last] = (err: Error | null, ...rest: unknown[]) => {
        if (isQueryReadTimeout(err)) this.discard();
        callback(err, ...rest);
      };
      return (super.query as (...a: unknown[]) => unknown).apply(this, args);
    }
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<unknown>).catch((err: unknown) => {
        if (isQueryReadTimeout(err)) this.discard();
        throw err;
      });
    }
    return result;
  }

  private discard(): void {
    (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

function isQueryReadTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === QUERY_READ_TIMEOUT_MESSAGE;
}

/**
 * Options for one owning app. `synchronize` is off and migrations never run on import: they run
 * with `npm run migrate` (libs/persistence/src/cli/migrate.ts) or `runMigrations(url)`. Every
 * connection is time-bounded (see DatabaseSettings); `overrides.extra` is merged, not replaced.
 */
export function dataSourceOptions(url: string, overrides: Partial<DataSourceOptions> = {}, database: Partial<DatabaseSettings> = {}): DataSourceOptions {
  const s: DatabaseSettings = {
    ...DEFAULT_DATABASE_SETTINGS,
    ...database,
    queryTimeoutMs: database.queryTimeoutMs ?? defaultQueryTimeout(database.statementTimeoutMs ?? DEFAULT_DATABASE_SETTINGS.statementTimeoutMs),
  };
  const { extra: extraOverrides, ...rest } = overrides as Partial<DataSourceOptions> & { extra?: Record<string, unknown> };
  return {
    type: 'postgres',
    url,
    entities: ALL_ENTITIES,
    migrations: ALL_MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    // Expected conflicts (optimistic concurrency) are not errors: query logging only on demand.
    logging: s.log ? 'all' : false,
    connectTimeoutMS: s.connectTimeoutMs,
    extra: {
      max: s.poolSize,
      Client: TimeBoundClient,
      connectionTimeoutMillis: s.connectTimeoutMs,
      query_timeout: s.queryTimeoutMs,
      ...(s.statementTimeoutMs > 0 ? { statement_timeout: s.statementTimeoutMs } : {}),
      // A transaction left open by a crashed request never holds locks for long.
      idle_in_transaction_session_timeout: Math.max(s.queryTimeoutMs * 2, 10_000),
      keepAlive: true,
      ...(extraOverrides ?? {}),
    },
    ...rest,
  } as DataSourceOptions;
}

/** Applies pending migrations; returns the names of the ones it ran. */
export async function runMigrations(url: string, database: Partial<DatabaseSettings> = {}): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url, {}, { statementTimeoutMs: 600_000, ...database, poolSize: 1 }));
  await ds.initialize();
  try {
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
