import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@odis/config';
import { loadDispatcherConfig } from './dispatcher.config.js';

const env = { KAFKA_BROKERS: 'kafka:9092', SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('dispatcher settings: private targets', () => {
  it('refuses WEBHOOK_ALLOW_PRIVATE_TARGETS=true with NODE_ENV=production unless the override is set', () => {
    expect(() => loadDispatcherConfig({ ...env, NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toThrow(ConfigError);
    expect(loadDispatcherConfig({ ...env, NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: 'true' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(true);
    expect(loadDispatcherConfig({ ...env, NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(true);
    expect(loadDispatcherConfig({ ...env, NODE_ENV: 'production' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(false);
  });
});
