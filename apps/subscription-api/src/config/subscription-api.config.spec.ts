import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@odis/config';
import { loadSubscriptionApiConfig } from './subscription-api.config.js';

const env = {
  DATABASE_URL: 'postgres://app:pw@db:5432/odis',
  KAFKA_BROKERS: 'kafka:9092',
  SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('subscription-api settings: private targets', () => {
  it('refuses WEBHOOK_ALLOW_PRIVATE_TARGETS=true with NODE_ENV=production unless the override is set', () => {
    expect(() => loadSubscriptionApiConfig({ ...env, NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toThrow(ConfigError);
    expect(
      loadSubscriptionApiConfig({ ...env, NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: 'true' })
        .WEBHOOK_ALLOW_PRIVATE_TARGETS,
    ).toBe(true);
    expect(loadSubscriptionApiConfig({ ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(true);
    expect(loadSubscriptionApiConfig({ ...env, NODE_ENV: 'production' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(false);
  });
});
