import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, settings } from './load-config.js';

const shape = {
  PORT: settings.port(3000),
  KAFKA_BROKERS: settings.kafkaBrokers,
  DATABASE_URL: settings.databaseUrl,
  WEBHOOK_RETRY_SCHEDULE: settings.retrySchedule,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: settings.bool(false),
};

describe('loadConfig', () => {
  it('parses valid settings with defaults', () => {
    const c = loadConfig(shape, { KAFKA_BROKERS: 'a:9092,b:9093', DATABASE_URL: 'postgres://x@y/z' });
    expect(c.PORT).toBe(3000);
    expect(c.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(c.WEBHOOK_RETRY_SCHEDULE.maxAttempts).toBe(5);
    expect(c.WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(false);
  });

  it('names every missing or invalid setting', () => {
    let error: unknown;
    try {
      loadConfig(shape, { PORT: 'eighty', DATABASE_URL: 'mysql://x', WEBHOOK_RETRY_SCHEDULE: '5m', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT="eighty": must be an integer');
    expect(message).toContain('KAFKA_BROKERS is required');
    expect(message).toContain('DATABASE_URL="mysql://x"');
    expect(message).toContain('WEBHOOK_RETRY_SCHEDULE="5m": the first attempt is immediate');
    expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS="maybe": must be true or false');
  });
});
