import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { documented } from './define-settings.js';
import { privateTargetGuardSettings, settings, withRule, type ConfigProblem, type ConfigRule } from './load-config.js';

/**
 * Settings shared by several apps, defined once and spread into each app's `defineSettings` shape
 * (the database ones are `databaseSettings` in @odis/persistence, next to the pool they configure).
 */

/** The kafkajs log levels, as `KafkaConnectionOptions.logLevel` takes them. */
export const KAFKA_LOG_LEVELS = ['nothing', 'error', 'warn', 'info', 'debug'] as const;
export type KafkaLogLevelSetting = (typeof KAFKA_LOG_LEVELS)[number];

/** The SASL mechanisms the Kafka client speaks (`KAFKA_SASL_MECHANISM`). */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** How an app authenticates to Kafka and secures the connection (docs/decisions/0016-kafka-security.md). */
export interface KafkaSecurity {
  /** TLS; the files are PEM paths, read once when the client is made. */
  ssl?: { caFile?: string; certFile?: string; keyFile?: string; keyPassword?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
}

/** A path that must name a readable file (checked at start; the client reads it once when made). */
const readableFile = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const path = v?.trim();
    if (!path) return undefined;
    try {
      if (!statSync(path).isFile()) {
        ctx.addIssue({ code: 'custom', message: 'is not a file' });
        return z.NEVER;
      }
      accessSync(path, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      ctx.addIssue({ code: 'custom', message: code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})` });
      return z.NEVER;
    }
    return path;
  });

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

interface KafkaSecurityValues {
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SSL_KEY_PASSWORD?: string;
  KAFKA_SSL_REJECT_UNAUTHORIZED: boolean;
  KAFKA_SASL_MECHANISM?: KafkaSaslMechanism;
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
}

/** The combinations of the Kafka security settings that make no sense, each naming the setting to fix. */
export const kafkaSecurityRule: ConfigRule<KafkaSecurityValues> = (c) => {
  const problems: ConfigProblem[] = [];
  const tlsOnly = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_KEY_PASSWORD'] as const;
  if (!c.KAFKA_SSL) {
    for (const name of tlsOnly) if (c[name] !== undefined) problems.push({ setting: name, message: 'is only used over TLS: also set KAFKA_SSL=true' });
  }
  if (c.KAFKA_SSL_CERT_FILE !== undefined && c.KAFKA_SSL_KEY_FILE === undefined) {
    problems.push({ setting: 'KAFKA_SSL_KEY_FILE', message: 'the private key of KAFKA_SSL_CERT_FILE is needed too' });
  }
  if (c.KAFKA_SSL_KEY_FILE !== undefined && c.KAFKA_SSL_CERT_FILE === undefined) {
    problems.push({ setting: 'KAFKA_SSL_CERT_FILE', message: 'the client certificate of KAFKA_SSL_KEY_FILE is needed too' });
  }
  if (c.KAFKA_SSL_KEY_PASSWORD !== undefined && c.KAFKA_SSL_KEY_FILE === undefined) {
    problems.push({ setting: 'KAFKA_SSL_KEY_FILE', message: 'KAFKA_SSL_KEY_PASSWORD is set but there is no key file' });
  }
  if (c.KAFKA_SASL_MECHANISM !== undefined) {
    if (c.KAFKA_SASL_USERNAME === undefined) problems.push({ setting: 'KAFKA_SASL_USERNAME', message: `needed with KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM}` });
    if (c.KAFKA_SASL_PASSWORD === undefined) problems.push({ setting: 'KAFKA_SASL_PASSWORD', message: `needed with KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM}` });
    if (c.KAFKA_SASL_MECHANISM === 'plain' && !c.KAFKA_SSL) {
      problems.push({ setting: 'KAFKA_SASL_MECHANISM', message: 'plain sends the password as it is: only over TLS (KAFKA_SSL=true), or use scram-sha-512' });
    }
  } else {
    const given = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const).filter((name) => c[name] !== undefined);
    if (given.length) problems.push({ setting: 'KAFKA_SASL_MECHANISM', message: `needed with ${given.join(' and ')} (plain, scram-sha-256 or scram-sha-512)` });
  }
  return problems;
};

/** The Kafka security settings (TLS, SASL) of every app and CLI that talks to Kafka; `kafkaSecurityOf` maps them. */
export const kafkaSecuritySettings = {
  KAFKA_SSL: withRule(
    settings.bool(false).describe('connect to Kafka over TLS (the system CAs verify the brokers unless `KAFKA_SSL_CA_FILE` is set)'),
    kafkaSecurityRule as ConfigRule<never>,
  ),
  KAFKA_SSL_CA_FILE: readableFile.describe("PEM file of the CA certificate(s) that signed the brokers' certificates (instead of the system CAs); needs `KAFKA_SSL=true`"),
  KAFKA_SSL_CERT_FILE: readableFile.describe('PEM client certificate (chain) for brokers that ask for one (mutual TLS); with `KAFKA_SSL_KEY_FILE`'),
  KAFKA_SSL_KEY_FILE: readableFile.describe('PEM private key of `KAFKA_SSL_CERT_FILE`'),
  KAFKA_SSL_KEY_PASSWORD: optionalText.describe('passphrase of an encrypted `KAFKA_SSL_KEY_FILE` (never printed)'),
  KAFKA_SSL_REJECT_UNAUTHORIZED: settings
    .bool(true)
    .describe("verify the brokers' certificates and host names; `false` only against a broker you control (never in production)"),
  KAFKA_SASL_MECHANISM: documented(
    z
      .string()
      .optional()
      .transform((v, ctx): KafkaSaslMechanism | undefined => {
        const m = v?.trim().toLowerCase();
        if (!m) return undefined;
        if ((KAFKA_SASL_MECHANISMS as readonly string[]).includes(m)) return m as KafkaSaslMechanism;
        ctx.addIssue({ code: 'custom', message: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')} (or empty: no SASL)` });
        return z.NEVER;
      }),
    {
      description: '`plain` (only with `KAFKA_SSL=true`), `scram-sha-256` or `scram-sha-512`; empty: no SASL authentication',
      shownDefault: '— (no SASL)',
    },
  ),
  KAFKA_SASL_USERNAME: optionalText.describe('SASL user name (needed with `KAFKA_SASL_MECHANISM`)'),
  KAFKA_SASL_PASSWORD: optionalText.describe('SASL password (needed with `KAFKA_SASL_MECHANISM`; never printed)'),
};

/** The Kafka security of loaded settings (undefined: plaintext, no authentication, as before). */
export function kafkaSecurityOf(c: KafkaSecurityValues): KafkaSecurity | undefined {
  const security: KafkaSecurity = {};
  if (c.KAFKA_SSL) {
    security.ssl = {
      caFile: c.KAFKA_SSL_CA_FILE,
      certFile: c.KAFKA_SSL_CERT_FILE,
      keyFile: c.KAFKA_SSL_KEY_FILE,
      keyPassword: c.KAFKA_SSL_KEY_PASSWORD,
      rejectUnauthorized: c.KAFKA_SSL_REJECT_UNAUTHORIZED,
    };
  }
  if (c.KAFKA_SASL_MECHANISM && c.KAFKA_SASL_USERNAME !== undefined && c.KAFKA_SASL_PASSWORD !== undefined) {
    security.sasl = { mechanism: c.KAFKA_SASL_MECHANISM, username: c.KAFKA_SASL_USERNAME, password: c.KAFKA_SASL_PASSWORD };
  }
  return security.ssl || security.sasl ? security : undefined;
}

/** Every app and CLI that talks to Kafka. */
export const kafkaClientSettings = {
  KAFKA_BROKERS: documented(settings.kafkaBrokers, { description: '`host:port[,host:port]`', setByLocalStack: true }),
  /** Lenient on purpose: an unknown level is `warn`, as it always was. */
  KAFKA_LOG_LEVEL: z
    .string()
    .optional()
    .transform((v): KafkaLogLevelSetting => {
      const level = v?.trim().toLowerCase();
      return (KAFKA_LOG_LEVELS as readonly string[]).includes(level ?? '') ? (level as KafkaLogLevelSetting) : 'warn';
    })
    .describe('verbosity of the Kafka client (`nothing`, `error`, `warn`, `info`, `debug`; anything else is `warn`)'),
  ...kafkaSecuritySettings,
};

/** Every app that runs a Kafka consumer group. */
export const kafkaConsumerSettings = {
  ...kafkaClientSettings,
  KAFKA_SESSION_TIMEOUT_MS: settings
    .int(30_000, 6_000, 300_000)
    .describe("consumer session timeout: how soon a crashed member's partitions move to the others"),
};

/** The apps that seal or open webhook secrets. */
export const encryptionKeySettings = {
  SECRET_ENCRYPTION_KEY: documented(settings.encryptionKey, {
    description: 'base64 of 32 random bytes (`openssl rand -base64 32`); AES-256-GCM key of webhook secrets',
    setByLocalStack: true,
  }),
  SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList.describe(
    'comma-separated keys of earlier rotations (newest first), still used to decrypt; `npm run cli -- secrets reencrypt` seals every secret under the current key, after which they can go',
  ),
};

/** The apps that plan attempts (keep it the same in all of them). */
export const retryScheduleSettings = {
  WEBHOOK_RETRY_SCHEDULE: documented(settings.retrySchedule, {
    description:
      'delay before each attempt (units ms, s, m, h, d); its length is the number of attempts before disabling. Keep it the same in every app that reads it',
    setByLocalStack: true,
  }),
};

/** `NODE_ENV`, read by every HTTP app (logs) and by the apps with the private-target switch: one description. */
const nodeEnvSetting = privateTargetGuardSettings.NODE_ENV.describe(
  '`production` selects JSON logs under `LOG_FORMAT=auto`; where an app has `WEBHOOK_ALLOW_PRIVATE_TARGETS`, `true` is then refused at start unless `WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION=true`',
);

/** The SSRF switch and its production guard; pass `refusePrivateTargetsInProduction` as a rule with them. */
export const privateTargetSettings = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: documented(settings.bool(false), {
    description: 'allow http and private/loopback/link-local targets (local stack and tests only)',
    setByLocalStack: true,
  }),
  NODE_ENV: nodeEnvSetting,
  WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: privateTargetGuardSettings.WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION.describe(
    'the second, explicit switch that allows `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` with `NODE_ENV=production`',
  ),
};

/** Every HTTP app: its port (the default differs per app) and log level. */
export const httpAppSettings = (port: number) => ({
  PORT: settings.port(port).describe('HTTP port (`/health`, `/ready`, the API)'),
  LOG_LEVEL: settings.logLevel.describe('log verbosity (`error`, `warn`, `log`, `debug`, `verbose`)'),
  LOG_FORMAT: z
    .enum(['auto', 'json', 'pretty'])
    .optional()
    .default('auto')
    .describe('`json` (one JSON object per line), `pretty` (readable lines) or `auto` (json with `NODE_ENV=production`, pretty otherwise)'),
  NODE_ENV: nodeEnvSetting,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.describe(
    'base URL of an OTLP/HTTP collector (spans go to `<url>/v1/traces`, JSON, batched); empty: spans are not exported (`traceparent` is still propagated)',
  ),
  OTEL_SERVICE_NAME: optionalText.describe("`service.name` of the exported spans (default: the app's name)"),
});

/** The apps that write subscription events and so run the outbox relay (subscription-api, notifier). */
export const outboxRelaySettings = {
  OUTBOX_POLL_MS: settings.int(30_000, 10, 600_000).describe('safety-net poll of the outbox (NOTIFY wakes it at once)'),
  /**
   * A relay that takes over from one that died mid-publish waits this long before its first
   * publish, so a stale send of the old leader can never land after the new leader's records.
   */
  OUTBOX_FENCING_WINDOW_MS: settings
    .int(60_000, 100, 600_000)
    .describe('longest one relay publish may take; a relay taking over from a dead leader waits out its window'),
};

/** The event log's retention: ensure-topics applies it; what a recovery can replay (issue 11). */
export const eventRetentionSettings = {
  EVENT_RETENTION_DAYS: settings
    .int(30, 1, 3650)
    .describe('how long the per-type event topics (`events.*`) keep events, the event log the platform can replay (applied by ensure-topics, also to existing topics)'),
};
