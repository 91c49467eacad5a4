import type { IHeaders, KafkaMessage } from 'kafkajs';

/** A record to produce. `headers` are UTF-8 strings; binary payloads go in `value`. */
export interface OutboundMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string>;
  /** Explicit partition (otherwise the key's hash picks it). */
  partition?: number;
}

/** A consumed record, as handed to a {@link ConsumerRunner} handler. */
export interface InboundMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as the decimal string kafkajs uses. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values decoded as UTF-8; for a header repeated in one record the last value wins. */
  headers: Record<string, string>;
  /** Record timestamp, epoch milliseconds. */
  timestamp: number;
}

/**
 * What a handler decided about one message.
 * - `done`: processed (or deliberately ignored); the offset may be committed.
 * - `dead-letter`: can never be processed; goes to the dead-letter topic with `reason`, then committed.
 * - `defer`: not due yet; the partition is paused and the same message is handed over again at `untilMs`.
 * - `retry`: a dependency (`postgres`, `kafka`, `smtp`, ...) is away: the runner tries the same message
 *   again with backoff until it succeeds, never dead-letters it, and reports the outage on its health.
 *   (Throwing a `DependencyUnavailableError`, or any error `classifyFailure` calls an outage, does the same.)
 */
export type MessageOutcome =
  | { kind: 'done' }
  | { kind: 'dead-letter'; reason: string }
  | { kind: 'defer'; untilMs: number }
  | { kind: 'retry'; dependency: string; reason: string };

export const Outcome = {
  done(): MessageOutcome {
    return DONE;
  },
  deadLetter(reason: string): MessageOutcome {
    return { kind: 'dead-letter', reason };
  },
  /** `untilMs` is an absolute epoch-milliseconds instant (e.g. `Date.now() + 60_000`). */
  deferUntil(untilMs: number): MessageOutcome {
    return { kind: 'defer', untilMs };
  },
  /** A dependency is away: hand the same message over again, with backoff, until it is back. */
  retry(dependency: string, reason: string): MessageOutcome {
    return { kind: 'retry', dependency, reason };
  },
} as const;

const DONE: MessageOutcome = Object.freeze({ kind: 'done' }) as MessageOutcome;

export type MessageHandlerFn = (message: InboundMessage) => Promise<MessageOutcome | void> | MessageOutcome | void;

/**
 * Validates what a handler returned. `undefined`/`null` count as `done` (a handler that returns
 * nothing processed the message); anything that is not a well-formed outcome is a programming
 * error, reported as a dead-letter so it is visible and does not block the partition.
 */
export function normalizeOutcome(value: unknown): MessageOutcome {
  if (value === undefined || value === null) return DONE;
  if (typeof value === 'object' && 'kind' in value) {
    const v = value as { kind: unknown; reason?: unknown; untilMs?: unknown };
    if (v.kind === 'done') return DONE;
    if (v.kind === 'dead-letter') {
      return { kind: 'dead-letter', reason: typeof v.reason === 'string' && v.reason ? v.reason : 'dead-lettered by handler' };
    }
    if (v.kind === 'defer' && typeof v.untilMs === 'number' && Number.isFinite(v.untilMs)) {
      return { kind: 'defer', untilMs: v.untilMs };
    }
    if (v.kind === 'retry') {
      const r = value as { dependency?: unknown };
      return {
        kind: 'retry',
        dependency: typeof r.dependency === 'string' && r.dependency ? r.dependency : 'unknown',
        reason: typeof v.reason === 'string' && v.reason ? v.reason : 'dependency unavailable',
      };
    }
  }
  return { kind: 'dead-letter', reason: `handler returned an invalid outcome: ${safeDescribe(value)}` };
}

function safeDescribe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}

/** kafkajs headers (Buffer | string | arrays of them) → plain UTF-8 strings. */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}

export function toInboundMessage(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  const timestamp = Number(message.timestamp);
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: decodeHeaders(message.headers),
    timestamp: Number.isFinite(timestamp) ? timestamp : 0,
  };
}

/** Best-effort human-readable reason for a thrown value (Error, Nest RPC error object, string…). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error && typeof (error as { message: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return safeDescribe(error);
}
