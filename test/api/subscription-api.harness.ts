import 'reflect-metadata';
import { requireEnv } from '../support/infra.js';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { DatabaseConnector, dataSourceOptions } from '@odis/persistence';
import { AccountDirectory } from '@odis/subscriptions';
import { consumerToken, startKafkaConsumers, type ConsumerRunner } from '@odis/messaging';
import { SubscriptionApiModule } from '../../apps/subscription-api/src/subscription-api.module.js';
import { loadSubscriptionApiConfig } from '../../apps/subscription-api/src/config/subscription-api.config.js';
import { configureHttp } from '../../apps/subscription-api/src/http-setup.js';
import { DnsResolver } from '../../apps/subscription-api/src/webhooks/webhooks.service.js';
import { systemResolver, type Resolver } from '@odis/platform';

/**
 * The same key as test/dispatch/support.ts: every test file shares one broker, so a dispatcher of
 * one file reads the snapshots of all, and reports a secret it cannot decrypt on /ready.
 */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 11).toString('base64');

export { requireEnv };

/** The real subscription-api module, in-process, on a free port, against the real Postgres and Kafka. */
export async function startSubscriptionApi(env: Record<string, string> = {}, options: { resolver?: Resolver } = {}): Promise<INestApplication> {
  const config = loadSubscriptionApiConfig({
    DATABASE_URL: requireEnv('DATABASE_URL'),
    KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
    SECRET_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    OUTBOX_POLL_MS: '100',
    KAFKA_SESSION_TIMEOUT_MS: '10000', // the delivery-log group: a member a test left uncleanly is replaced within 10 s
    API_RATE_LIMIT_PER_SECOND: '1000',
    API_RATE_LIMIT_BURST: '1000',
    PORT: '0',
    ...env,
  });
  const withConsumer = env.WITH_ATTEMPT_CONSUMER === 'true';
  const moduleRef = await Test.createTestingModule({ imports: [SubscriptionApiModule.forRoot(config, { attemptLogConsumer: withConsumer })] })
    .overrideProvider(DnsResolver)
    .useValue({ resolve: options.resolver ?? systemResolver })
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error'], bodyParser: false });
  configureHttp(app, config);
  if (withConsumer) await startKafkaConsumers(app);
  await app.listen(0, '127.0.0.1');
  if (withConsumer) await app.get<ConsumerRunner>(consumerToken('attempt-log-consumer')).start(); // resolves once it joined its group
  await app.get(DatabaseConnector).connect();
  return app;
}

export async function withDataSource<T>(fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = new DataSource(dataSourceOptions(requireEnv('DATABASE_URL'), { extra: { max: 2 } }));
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

export async function createAccount(name: string, email: string | null = `${name.toLowerCase().replace(/\W+/g, '')}@clinic.example`) {
  return withDataSource(async (ds) => {
    const { account, apiKey, keyId } = await new AccountDirectory(ds).createAccount({ name, email });
    return { accountId: account.id, apiKey, keyId };
  });
}
