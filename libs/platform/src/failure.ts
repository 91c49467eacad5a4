/**
 * Failure classes of a consumer (decision 0006). Every thrown error or explicit outcome falls in one:
 * - `outage`: a dependency (Kafka, Postgres, SMTP, ...) is away. The message is retried until it
 *   comes back, never dead-lettered and never committed past; the consumer reports the outage on
 *   `/ready` and counts it.
 * - `permanent`: the same input fails the same way every time (undecodable, invalid, too large, a
 *   programming error such as a TypeError or a stack overflow). Dead-lettered at once with its reason.
 * - `unknown`: anything else. Retried a bounded number of times, then dead-lettered: no message holds
 *   its partition for longer than that unless a dependency is down.
 */
export type FailureKind = 'outage' | 'permanent' | 'unknown';

export interface Failure {
  kind: FailureKind;
  /** For outages: which dependency (`kafka`, `postgres`, `smtp`, or what the thrower named). */
  dependency?: string;
  reason: string;
}

/** Throw (or wrap) to say "a dependency is away": retried until it is back, never dead-lettered. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DependencyUnavailableError';
  }
}

/** Throw to say "this input can never succeed": dead-lettered at once with the message as reason. */
export class PermanentFailureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentFailureError';
  }
}

/** Errors of the language itself: a bug or hostile input that fails the same way on every try. */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'URIError', 'EvalError']);

/** Kafka protocol errors that depend on the record, not on the cluster's state. */
const KAFKA_RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

/** Network errors of Node's sockets and DNS: whatever we were talking to is away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'ESOCKET', 'ECONNECTION', 'ETIMEOUT', 'EDNS', // nodemailer's SMTP codes
]);

/** Messages of node-postgres and TypeORM when the server is away or does not answer in time. */
const POSTGRES_OUTAGE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /Client has encountered a connection error/i,
  /Connection ended unexpectedly/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /sorry, too many clients already/i,
  /is not queryable/i,
  /Cannot use a pool after calling end/i,
];

/** Socket errors that arrive as text only (no `code`), e.g. wrapped by a driver. */
const NETWORK_MESSAGES = [/^connect (ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)/i, /^read (ECONNRESET|ETIMEDOUT)/i, /^write EPIPE/i];

/**
 * SQLSTATE classes that mean "the server, not the statement": 08 connection exception, 53
 * insufficient resources, 57 operator intervention (57014 is a statement timeout: the server was too
 * slow), 58 system error, 40001/40P01 (serialisation failure, deadlock: retry as is), 55P03 (lock not
 * available) and 25P03 (idle-in-transaction timeout).
 */
function isPostgresOutageCode(code: string): boolean {
  return /^(08|53|57|58)/.test(code) || ['40001', '40P01', '55P03', '25P03'].includes(code);
}

/** SQLSTATE of a statement that can never succeed with these values: data exception (22), integrity constraint (23). */
function isPostgresDataCode(code: string): boolean {
  return /^(22|23)/.test(code);
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  for (let i = 0; i < 8 && current && typeof current === 'object' && !chain.includes(current); i++) {
    chain.push(current);
    const e = current as { originalError?: unknown; driverError?: unknown; cause?: unknown };
    current = e.originalError ?? e.driverError ?? e.cause;
  }
  return chain.length > 0 ? chain : [error];
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  const m = (error as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(error);
}

/**
 * Classifies a thrown value, looking through wrappers (kafkajs `originalError`, TypeORM `driverError`,
 * `cause`). A socket or DNS error is an outage of `networkDependency` (what the caller was talking to;
 * default `network`).
 */
export function classifyFailure(error: unknown, networkDependency = 'network'): Failure {
  const reason = message(error);
  if (error instanceof AggregateError && error.errors.length > 0) {
    // e.g. a connect to every address of a host failed: an outage if any of them is one.
    const inner = error.errors.map((e) => classifyFailure(e, networkDependency));
    const outage = inner.find((f) => f.kind === 'outage');
    if (outage) return { ...outage, reason: reason || outage.reason };
  }
  const chain = causes(error);
  for (const e of chain) {
    if (e instanceof DependencyUnavailableError) return { kind: 'outage', dependency: e.dependency, reason };
    if (e instanceof PermanentFailureError) return { kind: 'permanent', reason };
  }
  for (const e of chain) {
    const err = e as { name?: string; type?: string; code?: unknown; retriable?: boolean; message?: string };
    const name = typeof err?.name === 'string' ? err.name : '';
    if (name.startsWith('KafkaJS')) {
      if (typeof err.type === 'string' && KAFKA_RECORD_ERRORS.has(err.type)) return { kind: 'permanent', reason };
      continue; // look deeper; a Kafka error without a record cause is an outage (below)
    }
    const code = typeof err?.code === 'string' ? err.code : '';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      // A SQLSTATE (node-postgres' DatabaseError, or TypeORM's QueryFailedError copying it).
      if (isPostgresOutageCode(code)) return { kind: 'outage', dependency: 'postgres', reason };
      if (isPostgresDataCode(code)) return { kind: 'permanent', reason };
    }
    if (name === 'CannotExecuteNotConnectedError' || name === 'ConnectionIsNotSetError' || name === 'CannotConnectAlreadyConnectedError') {
      return { kind: 'outage', dependency: 'postgres', reason };
    }
    const text = typeof err?.message === 'string' ? err.message : '';
    if (POSTGRES_OUTAGE_MESSAGES.some((re) => re.test(text))) return { kind: 'outage', dependency: 'postgres', reason };
  }
  if (chain.some((e) => typeof (e as { name?: unknown })?.name === 'string' && ((e as { name: string }).name).startsWith('KafkaJS'))) {
    return { kind: 'outage', dependency: 'kafka', reason };
  }
  for (const e of chain) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return { kind: 'outage', dependency: networkDependency, reason };
    const text = (e as { message?: unknown })?.message;
    if (typeof text === 'string' && NETWORK_MESSAGES.some((re) => re.test(text))) return { kind: 'outage', dependency: networkDependency, reason };
  }
  for (const e of chain) {
    const name = (e as { name?: unknown })?.name;
    if (typeof name === 'string' && PROGRAMMING_ERRORS.has(name)) return { kind: 'permanent', reason };
  }
  return { kind: 'unknown', reason };
}
