import { z } from 'zod';
import { RetrySchedule } from './retry-schedule.js';

/** Thrown at start when a setting is missing or invalid; the message names every bad setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` against a schema of settings once, into a typed, frozen object. */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.infer<z.ZodObject<S>>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(env)');
        const value = env[name];
        return value === undefined ? `${name} is required: ${issue.message}` : `${name}=${JSON.stringify(value)}: ${issue.message}`;
      }),
    );
  }
  return Object.freeze(result.data) as Readonly<z.infer<z.ZodObject<S>>>;
}

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

/** Reusable settings. Each app picks the ones it needs into its own schema. */
export const settings = {
  port: (fallback: number) => int(fallback, 0, 65535),
  int,
  bool,
  kafkaBrokers: z
    .string({ message: 'must list the Kafka brokers as host:port[,host:port]' })
    .regex(/^[^,\s:]+:\d+(,[^,\s:]+:\d+)*$/, 'must list the Kafka brokers as host:port[,host:port]')
    .transform((v) => v.split(',')),
  databaseUrl: z
    .string({ message: 'must be a postgres:// connection URL' })
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL'),
  smtpUrl: z.string({ message: 'must be an smtp:// or smtps:// URL' }).regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL'),
  encryptionKey: z
    .string({ message: 'must be 32 random bytes in base64 (openssl rand -base64 32)' })
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 random bytes in base64 (openssl rand -base64 32)'),
  optionalEncryptionKey: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || Buffer.from(v, 'base64').length === 32, 'must be 32 random bytes in base64'),
  /**
   * Previous encryption keys still accepted for decryption: a comma-separated list of base64 32-byte
   * keys, newest first (empty or unset: none). The values are never echoed in an error.
   */
  encryptionKeyList: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const keys = (v ?? '').split(',').map((k) => k.trim()).filter(Boolean);
      const bad = keys.map((k, i) => (/^[A-Za-z0-9+/]+={0,2}$/.test(k) && Buffer.from(k, 'base64').length === 32 ? -1 : i + 1)).filter((i) => i > 0);
      if (bad.length) {
        ctx.addIssue({ code: 'custom', message: `entry ${bad.join(', ')} of the list is not 32 random bytes in base64 (comma-separated list, newest first)` });
        return z.NEVER;
      }
      return keys;
    }),
  retrySchedule: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return RetrySchedule.parse(v && v.trim() !== '' ? v : undefined);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  logLevel: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).optional().default('log'),
  nonEmpty: (message: string) => z.string({ message }).min(1, message),
};
