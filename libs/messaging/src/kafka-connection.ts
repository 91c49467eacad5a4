import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Logger, type LoggerService } from '@nestjs/common';
import type { KafkaSecurity } from '@odis/config';
import type { Kafka, KafkaConfig, logCreator, LogEntry, RetryOptions, SASLOptions } from 'kafkajs';
import { patchedKafkajs } from './kafkajs-patches.js';

const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = patchedKafkajs();

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  /** Minimum kafkajs log level routed to the Nest logger (the app's `KAFKA_LOG_LEVEL` setting). Default `warn`. */
  logLevel?: KafkaLogLevelName;
  /** Retry options of the client (connection, metadata, admin calls). */
  retry?: RetryOptions;
  connectionTimeout?: number;
  requestTimeout?: number;
  /** Where kafkajs' log lines go. Default: a Nest `Logger` with context `kafkajs`. */
  logger?: LoggerService;
  /** TLS and SASL (the app's `KAFKA_SSL*` / `KAFKA_SASL_*` settings, via `kafkaSecurityOf`). Default: plaintext. */
  security?: KafkaSecurity;
}

/**
 * kafkajs' `ssl` and `sasl` options of a `KafkaSecurity`: the PEM files are read here, once (the
 * client keeps the bytes; a renewed certificate takes a restart). A file that is not PEM is an error
 * naming its setting.
 */
export function kafkajsSecurity(security: KafkaSecurity | undefined): { ssl?: ConnectionOptions; sasl?: SASLOptions } {
  const out: { ssl?: ConnectionOptions; sasl?: SASLOptions } = {};
  if (security?.ssl) {
    const { caFile, certFile, keyFile, keyPassword, rejectUnauthorized } = security.ssl;
    const ssl: ConnectionOptions = { rejectUnauthorized };
    if (caFile) ssl.ca = [readPem('KAFKA_SSL_CA_FILE', caFile, 'CERTIFICATE')];
    if (certFile) ssl.cert = readPem('KAFKA_SSL_CERT_FILE', certFile, 'CERTIFICATE');
    if (keyFile) ssl.key = readPem('KAFKA_SSL_KEY_FILE', keyFile, 'PRIVATE KEY');
    if (keyPassword !== undefined) ssl.passphrase = keyPassword;
    out.ssl = ssl;
  }
  if (security?.sasl) {
    const { mechanism, username, password } = security.sasl;
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}

function readPem(setting: string, path: string, kind: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`${setting}="${path}": cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (!new RegExp(`-----BEGIN [A-Z0-9 ]*${kind}-----`).test(bytes.toString('latin1'))) {
    throw new Error(`${setting}="${path}": not a PEM file with a ${kind.toLowerCase()} (-----BEGIN …${kind}-----)`);
  }
  return bytes;
}

const LEVELS: Record<KafkaLogLevelName, number> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

/** Routes kafkajs log entries to a Nest logger instead of kafkajs' own console JSON lines. */
export function nestLogCreator(logger: LoggerService = new Logger('kafkajs')): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & Record<string, unknown>;
      const details = Object.keys(extra).length ? ` ${safeJson(extra)}` : '';
      const line = `${namespace ? `[${namespace}] ` : ''}${message}${details}`;
      switch (level) {
        case KafkaLogLevel.ERROR:
          if (isRoutine(String(message), extra)) {
            logger.warn(line);
          } else {
            logger.error(line);
          }
          break;
        case KafkaLogLevel.WARN:
          // Our producers bound their retries on purpose (see MessageProducer); not worth a warning each.
          if (/Limiting retries for the idempotent producer/.test(String(message))) logger.debug?.(line);
          else logger.warn(line);
          break;
        case KafkaLogLevel.INFO:
          logger.log(line);
          break;
        default:
          logger.debug?.(line);
      }
    };
}

/**
 * Errors kafkajs logs at ERROR level although they are part of normal operation: the coordinator
 * answering heartbeats with REBALANCE_IN_PROGRESS during every rebalance, or "coordinator loading"
 * right after a broker starts. They are retried by kafkajs and surface as warnings here.
 */
function isRoutine(message: string, extra: Record<string, unknown>): boolean {
  const text = `${message} ${typeof extra.error === 'string' ? extra.error : ''} ${typeof extra.type === 'string' ? extra.type : ''}`;
  return /rebalanc|coordinator is loading|coordinator is not available|REBALANCE_IN_PROGRESS/i.test(text);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return '';
  }
}

/** Makes the one kafkajs client of an app, with logs routed to Nest. */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  if (!options.brokers?.length) throw new Error('KafkaConnection: no brokers given');
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: LEVELS[options.logLevel ?? 'warn'],
    logCreator: nestLogCreator(options.logger),
    retry: options.retry ?? { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    ...kafkajsSecurity(options.security),
  };
  return new KafkaClient(config);
}

/**
 * The Kafka client of one app (one per process): every producer, consumer runner and admin of the
 * app is made from it. Apps get it from `MessagingModule` or construct it once in `main.ts`.
 */
export class KafkaConnection {
  readonly kafka: Kafka;

  constructor(readonly options: KafkaConnectionOptions) {
    this.kafka = createKafka(options);
  }

  get clientId(): string {
    return this.options.clientId;
  }
}
