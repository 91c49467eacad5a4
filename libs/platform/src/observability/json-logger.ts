import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentTrace } from './trace-context.js';

/** `json`: one JSON object per line (production); `pretty`: one readable line (local runs). */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT=auto → json under NODE_ENV=production, pretty otherwise. */
export function resolveLogFormat(setting: string | undefined, nodeEnv: string | undefined): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return nodeEnv?.trim().toLowerCase() === 'production' ? 'json' : 'pretty';
}

/** Field names whose values are never logged. */
const SECRET_KEYS = /secret|password|passwd|api[_-]?key|authorization|token|cookie|private[_-]?key|encryption[_-]?key/i;
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

/** A copy of a value with secret-named fields replaced and secret shapes redacted (depth-bounded). */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object' || depth > 5) return value;
  if (value instanceof Error) return redactSecrets(value.stack ?? value.message);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[REDACTED]' : redactValue(v, depth + 1);
  return out;
}

const ID_FIELDS = ['event_id', 'delivery_id', 'webhook_id', 'subscription_id'] as const;

export interface JsonLoggerOptions {
  app: string;
  format: LogFormat;
  levels?: LogLevel[];
  /** Where lines go (tests); default process.stdout / process.stderr by level. */
  write?: (line: string, level: LogLevel) => void;
  now?: () => Date;
}

/**
 * The apps' Nest logger (decision 0018): JSON lines with `time`, `level`, `app`, `context`, `msg`,
 * the current `trace_id`/`span_id` and the event/delivery/webhook ids the current span carries, or a
 * readable line; secrets and API keys are redacted from every line.
 */
export class JsonLogger implements LoggerService {
  private levels: Set<LogLevel>;
  private readonly write: (line: string, level: LogLevel) => void;
  private readonly now: () => Date;

  constructor(private readonly options: JsonLoggerOptions) {
    this.levels = new Set(options.levels ?? ['fatal', 'error', 'warn', 'log']);
    this.write = options.write ?? ((line, level) => (level === 'error' || level === 'fatal' ? process.stderr : process.stdout).write(`${line}\n`));
    this.now = options.now ?? (() => new Date());
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
    const entry: Record<string, unknown> = { time: this.now().toISOString(), level, app: this.options.app };
    if (context) entry.context = context;
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) {
      const fields = redactValue(message) as Record<string, unknown>;
      entry.msg = typeof fields.msg === 'string' ? fields.msg : typeof fields.message === 'string' ? fields.message : '';
      for (const [k, v] of Object.entries(fields)) if (k !== 'msg' && k !== 'message' && !(k in entry)) entry[k] = v;
    } else {
      entry.msg = redactSecrets(message instanceof Error ? (message.stack ?? message.message) : String(message));
    }
    if (stack) entry.stack = redactSecrets(stack);
    const trace = currentTrace();
    if (trace) {
      entry.trace_id = trace.traceId;
      entry.span_id = trace.spanId;
      if (trace.name) entry.span = trace.name;
      for (const f of ID_FIELDS) if (trace.ids?.[f] && entry[f] === undefined) entry[f] = trace.ids[f];
    }
    this.write(this.options.format === 'json' ? JSON.stringify(entry) : pretty(entry), level);
  }
}

function pretty(entry: Record<string, unknown>): string {
  const { time, level, app, context, msg, trace_id, span_id: _s, span: _n, stack, ...rest } = entry;
  const ids = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const trace = typeof trace_id === 'string' ? ` trace=${trace_id.slice(0, 8)}` : '';
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} [${String(app)}]${context ? ` ${String(context)}:` : ''} ${String(msg)}${ids ? ` ${ids}` : ''}${trace}${stack ? `\n${String(stack)}` : ''}`;
}
