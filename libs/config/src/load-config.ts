import { z } from 'zod';
import { RetrySchedule } from './retry-schedule.js';

/**
 * Thrown at start when a setting is missing or invalid; the message names every bad setting.
 * Problems are built with `describeSettingProblem`, so they never carry a secret value.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Settings whose value is never printed: any name containing KEY, TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

export function isSecretSetting(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * Masks the credentials of a URL inside `value` (`scheme://user:password@host` becomes
 * `scheme://user:***@host`, `scheme://token@host` becomes `scheme://***@host`). Works on text that
 * is not a valid URL too (an invalid setting is what gets printed): everything from `://` to the last
 * `@` is treated as credentials, so a password holding `@`, `/` or `:` is masked whole.
 */
export function redactUrlCredentials(value: string): string {
  const scheme = value.indexOf('://');
  if (scheme < 0) return value;
  const start = scheme + 3;
  const at = value.lastIndexOf('@');
  if (at < start) return value;
  const userinfo = value.slice(start, at);
  const colon = userinfo.indexOf(':');
  const user = colon > 0 && !/[/?#]/.test(userinfo.slice(0, colon)) ? userinfo.slice(0, colon) : undefined;
  return `${value.slice(0, start)}${user === undefined ? '***' : `${user}:***`}${value.slice(at)}`;
}

/** The parts of a setting's value that must never be printed (the whole value of a secret, URL passwords). */
function sensitiveParts(name: string, value: string): string[] {
  if (isSecretSetting(name)) return [value];
  const scheme = value.indexOf('://');
  const at = value.lastIndexOf('@');
  if (scheme < 0 || at < scheme + 3) return [];
  const userinfo = value.slice(scheme + 3, at);
  return [userinfo.slice(userinfo.indexOf(':') + 1)]; // the password, or the whole userinfo when it has none (a token)
}

/**
 * One line of a ConfigError: `NAME="value": message`, or `NAME is required: message` when unset.
 * A secret setting's value is replaced by `(hidden, N characters)`, the password of any URL by
 * `***`, and the message is scrubbed of those parts too (a check may echo what it read).
 */
export function describeSettingProblem(name: string, value: string | undefined, message: string): string {
  if (value === undefined) return `${name} is required: ${message}`;
  let scrubbed = message;
  for (const part of sensitiveParts(name, value)) {
    if (part.length >= 4) scrubbed = scrubbed.split(part).join('***');
  }
  const shown = isSecretSetting(name) ? `(hidden, ${value.length} characters)` : JSON.stringify(redactUrlCredentials(value));
  return `${name}=${shown}: ${scrubbed}`;
}

/** A problem found by a rule that spans settings. */
export interface ConfigProblem {
  /** The setting to name (its value is printed as `describeSettingProblem` does). */
  setting: string;
  message: string;
}

/** A rule across settings, checked once every setting is valid; returns what is wrong (nothing when fine). */
export type ConfigRule<T> = (config: T) => ConfigProblem[];

/** Rules that travel with a shared setting (e.g. the Kafka security settings' combinations). */
const attachedRules = new WeakMap<z.ZodType, ConfigRule<never>>();

/**
 * Attaches a rule across settings to a setting's schema: every `loadConfig` whose shape holds that
 * schema checks the rule too (once, however many of its settings carry it), so the apps that spread
 * a shared group of settings get its rules without listing them.
 */
export function withRule<T extends z.ZodType>(schema: T, rule: ConfigRule<never>): T {
  attachedRules.set(schema, rule);
  return schema;
}

/**
 * Validates `env` against a schema of settings once, into a typed, frozen object; then the rules
 * that span settings (those given and those attached to the shape's schemas with `withRule`). Any
 * problem throws a ConfigError naming every bad setting (apps exit 78).
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
  givenRules: readonly ConfigRule<z.infer<z.ZodObject<S>>>[] = [],
): Readonly<z.infer<z.ZodObject<S>>> {
  const attached = new Set(Object.values(shape).flatMap((schema) => attachedRules.get(schema as z.ZodType) ?? []));
  const rules = [...givenRules, ...(attached as Set<ConfigRule<z.infer<z.ZodObject<S>>>>)];
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '(env)');
        return describeSettingProblem(name, env[name], issue.message);
      }),
    );
  }
  const problems = rules.flatMap((rule) => rule(result.data));
  if (problems.length > 0) throw new ConfigError(problems.map((p) => describeSettingProblem(p.setting, env[p.setting], p.message)));
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

/**
 * The production guard of `WEBHOOK_ALLOW_PRIVATE_TARGETS`, for the apps that read that switch (they
 * add these next to it and pass `refusePrivateTargetsInProduction` to `loadConfig`):
 * - `NODE_ENV`: only `production` matters here (the Docker image sets it); default `development`.
 * - `WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION`: the explicit second switch without which
 *   `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` is refused when `NODE_ENV=production`.
 */
export const privateTargetGuardSettings = {
  NODE_ENV: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? v.trim() : 'development')),
  WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: bool(false),
};

/** Refuses `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` under `NODE_ENV=production` unless the explicit override is set too. */
export const refusePrivateTargetsInProduction: ConfigRule<{
  NODE_ENV: string;
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean;
  WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: boolean;
}> = (config) =>
  config.WEBHOOK_ALLOW_PRIVATE_TARGETS && config.NODE_ENV.toLowerCase() === 'production' && !config.WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION
    ? [
        {
          setting: 'WEBHOOK_ALLOW_PRIVATE_TARGETS',
          message:
            'refused with NODE_ENV=production: it lets webhooks reach private, loopback and link-local addresses (SSRF); ' +
            'also set WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION=true to allow it anyway',
        },
      ]
    : [];
