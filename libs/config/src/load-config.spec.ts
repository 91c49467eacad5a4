import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  ConfigError,
  describeSettingProblem,
  isSecretSetting,
  loadConfig,
  privateTargetGuardSettings,
  redactUrlCredentials,
  refusePrivateTargetsInProduction,
  settings,
} from './load-config.js';

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

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('settings errors never print secret values', () => {
  const secretShape = {
    SECRET_ENCRYPTION_KEY: settings.encryptionKey,
    SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList,
    INGEST_SERVICE_TOKEN: z.string().min(40, 'must be at least 40 characters'),
    SMTP_PASSWORD: z.string().min(40, 'must be at least 40 characters'),
    DATABASE_URL: settings.databaseUrl,
    SMTP_URL: settings.smtpUrl,
  };

  it('hides the value of secret settings and masks URL passwords, still naming each setting', () => {
    const message = configError(() =>
      loadConfig(secretShape, {
        SECRET_ENCRYPTION_KEY: 'hunter2-current-key',
        SECRET_ENCRYPTION_KEY_PREVIOUS: 'hunter2-previous-key',
        INGEST_SERVICE_TOKEN: 'hunter2-token',
        SMTP_PASSWORD: 'hunter2-smtp',
        DATABASE_URL: 'mysql://app:hunter2-db@db.internal:3306/odis',
        SMTP_URL: 'smtp2://mailer:hunter2-mail@mail.example.com:587',
      }),
    );
    expect(message).not.toContain('hunter2');
    expect(message).toContain('SECRET_ENCRYPTION_KEY=(hidden, 19 characters): must be 32 random bytes');
    expect(message).toContain('SECRET_ENCRYPTION_KEY_PREVIOUS=(hidden, 20 characters): entry 1 of the list is not 32 random bytes');
    expect(message).toContain('INGEST_SERVICE_TOKEN=(hidden, 13 characters): must be at least 40 characters');
    expect(message).toContain('SMTP_PASSWORD=(hidden, 12 characters)');
    expect(message).toContain('DATABASE_URL="mysql://app:***@db.internal:3306/odis": must be a postgres:// connection URL');
    expect(message).toContain('SMTP_URL="smtp2://mailer:***@mail.example.com:587": must be an smtp:// or smtps:// URL');
  });

  it('scrubs a secret that a check echoes in its message', () => {
    const echo = { API_KEY: z.string().refine(() => false, { message: 'bad' }) };
    const echoing = {
      API_KEY: z.string().superRefine((v, ctx) => ctx.addIssue({ code: 'custom', message: `cannot use ${v} here` })),
      UPSTREAM_URL: z.string().superRefine((v, ctx) => ctx.addIssue({ code: 'custom', message: `cannot reach ${v}` })),
    };
    expect(configError(() => loadConfig(echo, { API_KEY: 'hunter2-key' }))).toContain('API_KEY=(hidden, 11 characters): bad');
    const message = configError(() => loadConfig(echoing, { API_KEY: 'hunter2-key', UPSTREAM_URL: 'https://u:hunter2-pw@up.example/' }));
    expect(message).not.toContain('hunter2');
    expect(message).toContain('API_KEY=(hidden, 11 characters): cannot use *** here');
    expect(message).toContain('UPSTREAM_URL="https://u:***@up.example/": cannot reach https://u:***@up.example/');
  });

  it.each([
    ['SECRET_ENCRYPTION_KEY', true],
    ['SECRET_ENCRYPTION_KEY_PREVIOUS', true],
    ['INGEST_SERVICE_TOKEN', true],
    ['SMTP_PASSWORD', true],
    ['PGPASSWD', true],
    ['AWS_CREDENTIALS', true],
    ['api_key', true],
    ['DATABASE_URL', false],
    ['WEBHOOK_ALLOW_PRIVATE_TARGETS', false],
    ['PORT', false],
  ])('isSecretSetting(%s) = %s', (name, expected) => expect(isSecretSetting(name)).toBe(expected));

  it.each([
    ['postgres://app:s3cret@db:5432/odis', 'postgres://app:***@db:5432/odis'],
    ['postgres://app:p@ss/w:rd@db/odis', 'postgres://app:***@db/odis'],
    ['https://ghp_token@github.com/x', 'https://***@github.com/x'],
    ['postgres://db:5432/odis', 'postgres://db:5432/odis'],
    ['smtp://mailpit:1025', 'smtp://mailpit:1025'],
    ['user:pw@host', 'user:pw@host'],
    ['not a url', 'not a url'],
  ])('redactUrlCredentials(%s)', (value, expected) => expect(redactUrlCredentials(value)).toBe(expected));

  it('describes an unset setting without a value, and a plain one with its value', () => {
    expect(describeSettingProblem('KAFKA_BROKERS', undefined, 'required')).toBe('KAFKA_BROKERS is required: required');
    expect(describeSettingProblem('PORT', 'eighty', 'must be an integer')).toBe('PORT="eighty": must be an integer');
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_TARGETS in production', () => {
  const appShape = { WEBHOOK_ALLOW_PRIVATE_TARGETS: settings.bool(false), ...privateTargetGuardSettings };
  const load = (env: NodeJS.ProcessEnv) => loadConfig(appShape, env, [refusePrivateTargetsInProduction]);

  it('is refused with NODE_ENV=production, naming the override', () => {
    for (const NODE_ENV of ['production', ' Production ']) {
      const message = configError(() => load({ NODE_ENV, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
      expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS="true": refused with NODE_ENV=production');
      expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION=true');
    }
    expect(() => load({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: 'false' })).toThrow(ConfigError);
  });

  it('is allowed in production with the explicit override, and anywhere else without it', () => {
    expect(load({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: 'true' })).toMatchObject({
      NODE_ENV: 'production',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: true,
      WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: true,
    });
    expect(load({ NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(true);
    expect(load({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toMatchObject({ NODE_ENV: 'development', WEBHOOK_ALLOW_PRIVATE_TARGETS: true });
    expect(load({ NODE_ENV: 'production' })).toMatchObject({ WEBHOOK_ALLOW_PRIVATE_TARGETS: false, WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: false });
  });

  it('runs cross-setting rules only once every setting is valid, and reports them as a ConfigError', () => {
    const message = configError(() => load({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' }));
    expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS="maybe": must be true or false');
    expect(message).not.toContain('refused');
  });
});

describe('withRule', () => {
  it('checks a rule attached to a schema in every shape that holds it, once', async () => {
    const { withRule } = await import('./load-config.js');
    let calls = 0;
    const A = withRule(settings.bool(false), (c: never) => {
      calls++;
      return (c as { A: boolean; B: boolean }).A && !(c as { B: boolean }).B ? [{ setting: 'B', message: 'needed with A' }] : [];
    });
    const shared = { A, B: settings.bool(false) };
    expect(() => loadConfig({ ...shared, PORT: settings.port(1) }, { A: 'true' })).toThrow('B is required: needed with A');
    expect(calls).toBe(1);
    expect(loadConfig({ ...shared }, { A: 'true', B: 'true' }).A).toBe(true);
  });
});
