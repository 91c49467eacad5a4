import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import { currentLogIds, currentTraceIds } from './tracing.js';

/** `json`: one JSON object per line (production); `pretty`: one readable line (local runs). */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT=auto → json under NODE_ENV=production, pretty otherwise. */
export function resolveLogFormat(setting: string | undefined, nodeEnv: string | undefined): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return nodeEnv?.trim().toLowerCase() === 'production' ? 'json' : 'pretty';
}

/** Field names whose values pino's `redact` censors (top level and one level down). */
const SECRET_FIELDS = ['secret', 'password', 'apiKey', 'api_key', 'authorization', 'Authorization', 'token', 'cookie', 'privateKey', 'private_key', 'encryptionKey', 'encryption_key'];
export const REDACT_PATHS = SECRET_FIELDS.flatMap((k) => [k, `*.${k}`]);

/**
 * Secret shapes redacted wherever they appear in a message: API keys (`odis_sk_…`), Standard
 * Webhooks secrets (`whsec_…`), bearer credentials, credentials in URLs, and `secret=`-style pairs.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/odis_sk_[A-Za-z0-9_-]+/g, 'odis_sk_[REDACTED]'],
  [/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [REDACTED]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:)[^\s@/]+@/gi, '$1[REDACTED]@'],
  [/("?(?:secret|password|api[_-]?key|token|authorization)"?\s*[:=]\s*"?)([^"\s,}&]+)/gi, '$1[REDACTED]'],
];

/** Removes secrets and API keys from a log text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A copy of a value with secret shapes redacted from every string in it (depth-bounded); field names are pino's `redact`. */
function redactStrings(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object' || depth > 5) return value;
  if (value instanceof Error) return redactSecrets(value.stack ?? value.message);
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v, depth + 1)]));
}

/** Nest's levels → pino's. */
const PINO_LEVEL: Record<LogLevel, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** One readable line of a pino JSON line (LOG_FORMAT=pretty; pino-pretty is not a dependency). */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { time, level, app, context, msg, trace_id, span_id: _s, stack, ...rest } = entry;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const trace = typeof trace_id === 'string' ? ` trace=${trace_id.slice(0, 8)}` : '';
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} [${String(app)}]${context ? ` ${String(context)}:` : ''} ${String(msg)}${fields ? ` ${fields}` : ''}${trace}${stack ? `\n${String(stack)}` : ''}\n`;
}

/** A pino destination writing readable lines to stdout. */
const prettyStdout = (): DestinationStream => ({ write: (line: string) => void process.stdout.write(prettyLine(line.trimEnd())) });

/** Marks a logger writing to a destination a test supplied (test/support/quiet-logs.ts keeps it). */
export const TEST_DESTINATION = Symbol.for('odis.logger.testDestination');

let testDestination: DestinationStream | undefined;
/** Tests: loggers created from now on write their (JSON or readable) lines here instead of stdout; `undefined` restores stdout. */
export function useLogDestination(destination: DestinationStream | undefined): void {
  testDestination = destination;
}

export interface AppLoggerOptions {
  app: string;
  format: LogFormat;
  levels?: LogLevel[];
  /** Where lines go; default stdout (pino's synchronous destination), or the test destination. */
  destination?: DestinationStream;
}

/**
 * The apps' Nest logger (decision 0018), writing through pino: JSON lines with `level`, `time`,
 * `app`, `context`, `msg`, the current `trace_id`/`span_id` and the event/delivery/webhook ids of the
 * current work; or readable lines (`pretty`). Secret-named fields are censored by pino's `redact`,
 * secret shapes (API keys, `whsec_` secrets, bearer tokens) inside messages by `redactSecrets`.
 */
export class AppLogger implements LoggerService {
  private levels: Set<LogLevel>;
  readonly pino: Pino;
  readonly [TEST_DESTINATION]: boolean;

  constructor(options: AppLoggerOptions) {
    this.levels = new Set(options.levels ?? ['fatal', 'error', 'warn', 'log']);
    const given = options.destination ?? testDestination;
    this[TEST_DESTINATION] = given !== undefined && options.destination === undefined;
    const json = given ?? (options.format === 'json' ? pino.destination({ dest: 1, sync: true }) : undefined);
    const destination = options.format === 'pretty' ? (given ? { write: (line: string) => void given.write(prettyLine(line.trimEnd())) } : prettyStdout()) : json!;
    this.pino = pino(
      {
        level: 'trace', // Nest's level list decides (setLogLevels)
        base: { app: options.app },
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
        mixin() {
          const ids = currentTraceIds();
          const fields: Record<string, string> = ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
          return { ...fields, ...currentLogIds() };
        },
      },
      destination,
    );
  }

  setLogLevels(levels: LogLevel[]): void {
    this.levels = new Set(levels);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', message, rest);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.levels.has(level)) return;
    // Nest passes the context last (a string), and for errors a stack before it.
    const params = [...rest];
    const context = params.length && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' || level === 'fatal' ? params.find((p): p is string => typeof p === 'string' && p.includes('\n    at ')) : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    let msg: string;
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) {
      const { msg: m, message: mm, ...other } = redactStrings(message) as Record<string, unknown>;
      msg = typeof m === 'string' ? m : typeof mm === 'string' ? mm : '';
      Object.assign(fields, other);
    } else {
      msg = redactSecrets(message instanceof Error ? (message.stack ?? message.message) : String(message));
    }
    if (stack) fields.stack = redactSecrets(stack);
    this.pino[PINO_LEVEL[level]](fields, msg);
  }
}
