/**
 * `Retry-After` of a receiver's `429` or `503` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * The dispatcher waits at least that long before the next attempt, but never more than
 * {@link RETRY_AFTER_MAX_MS} (2 h, the seed schedule's longest wait), and never less than the
 * schedule asks (decision 0013).
 */

/** The longest wait a `Retry-After` can impose: 2 hours. */
export const RETRY_AFTER_MAX_MS = 2 * 60 * 60 * 1000;

/** The statuses whose `Retry-After` is honoured. */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

const DELAY_SECONDS = /^\d{1,12}$/;
// IMF-fixdate (preferred), RFC 850 and asctime forms; Date.parse reads all three.
const HTTP_DATE = /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/**
 * The wait a `Retry-After` value asks for, in ms from `nowMs`, capped at {@link RETRY_AFTER_MAX_MS};
 * 0 for a date in the past; null when absent or unusable (negative, fractional, garbage, over-long,
 * an impossible date). Never throws.
 */
export function parseRetryAfter(value: string | readonly string[] | null | undefined, nowMs: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) return null;
  const text = raw.trim();
  if (DELAY_SECONDS.test(text)) return Math.min(Number(text) * 1000, RETRY_AFTER_MAX_MS);
  if (!HTTP_DATE.test(text)) return null;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return null;
  return Math.min(Math.max(0, at - nowMs), RETRY_AFTER_MAX_MS);
}

/** The wait to honour after a response: only a `429` or `503` with a usable `Retry-After`; else null. */
export function requestedRetryDelay(statusCode: number | null | undefined, retryAfter: string | readonly string[] | null | undefined, nowMs: number): number | null {
  if (statusCode === null || statusCode === undefined || !RETRY_AFTER_STATUSES.has(statusCode)) return null;
  return parseRetryAfter(retryAfter, nowMs);
}
