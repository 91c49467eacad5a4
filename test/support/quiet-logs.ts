/**
 * Routes every Nest Logger line of the test process (apps in-process, ConsumerRunner, kafkajs via
 * KafkaConnection) into a buffer that test/support/quiet-environment.ts prints only for a failing
 * test. Apps that pass a log-level list keep this logger (Nest only sets levels then), and so do
 * testing modules (which would install their own); all levels are kept, so a failure shows everything.
 */
import { Logger, type LoggerService } from '@nestjs/common';

const g = globalThis as unknown as Record<string, string[] | undefined>;
const logs = (g.__odisTestLogs ??= []);
const MAX_LINES = 5_000;

function line(level: string, message: unknown, params: unknown[]): string {
  const context = typeof params[params.length - 1] === 'string' ? String(params[params.length - 1]) : '';
  const text = message instanceof Error ? (message.stack ?? message.message) : typeof message === 'string' ? message : JSON.stringify(message);
  return `${new Date().toISOString()} ${level.padEnd(5)} ${context ? `[${context}] ` : ''}${text}`;
}

const record = (level: string) => (message: unknown, ...params: unknown[]) => {
  if (logs.length >= MAX_LINES) logs.shift();
  logs.push(line(level, message, params));
};

const buffering: LoggerService = {
  log: record('LOG'),
  error: record('ERROR'),
  warn: record('WARN'),
  debug: record('DEBUG'),
  verbose: record('VERB'),
  fatal: record('FATAL'),
};

Logger.overrideLogger(buffering);
// @nestjs/testing's compile() installs its own console logger (errors only): keep buffering instead.
// Level lists and `false` (logging off) still apply.
const override = Logger.overrideLogger.bind(Logger);
// A logger writing to a destination the test supplied (useLogDestination, libs/platform) is kept: the test reads it.
const keep = (logger: object) => (logger as Record<symbol, unknown>)[Symbol.for('odis.logger.testDestination')] === true;
Logger.overrideLogger = (logger: LoggerService | Parameters<typeof Logger.overrideLogger>[0]) =>
  override(typeof logger === 'object' && logger !== null && !Array.isArray(logger) && !keep(logger) ? buffering : logger);
