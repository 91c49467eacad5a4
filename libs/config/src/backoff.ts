/**
 * The one backoff of the codebase (Kafka clients in libs/messaging, start-up waits in libs/platform
 * and libs/persistence, the dispatcher's durable sends, the retry-scheduler's republish, the
 * notifier's SMTP retries). Lives in libs/config because every lib may import it without a cycle
 * (config imports only contracts).
 */
export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  initial: number;
  /** Upper bound of any delay, ms. */
  max: number;
}

/**
 * Exponential backoff: `initial * 2^(attempt-1)` capped at `max`, with ±`jitter` (a fraction) of
 * randomness so that many clients retrying together spread out. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, jitter = 0, random: () => number = Math.random): number {
  const initial = Math.max(0, options.initial);
  const max = Math.max(initial, options.max);
  const exp = Math.min(Math.max(attempt, 1) - 1, 52);
  const base = Math.min(max, initial * 2 ** exp);
  if (jitter <= 0) return base;
  const spread = base * Math.min(jitter, 1);
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

export interface RetryWithBackoffOptions {
  /** Delay before the first retry, ms (250). */
  initialMs?: number;
  /** Upper bound of any delay, ms (10 000). */
  maxMs?: number;
  /** Stops retrying: the last error is thrown once it aborts. */
  signal?: AbortSignal;
  /** False: the error is not worth retrying and is thrown at once. */
  retryIf?: (err: unknown) => boolean;
  onError?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Retries `fn` with {@link backoffDelay} (±20 % jitter) until it succeeds, `signal` aborts, or
 * `retryIf` says an error is not worth retrying (then that error is thrown at once).
 */
export async function retryWithBackoff<T>(fn: () => Promise<T>, options: RetryWithBackoffOptions = {}): Promise<T> {
  const backoff = { initial: options.initialMs ?? 250, max: options.maxMs ?? 10_000 };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (options.signal?.aborted || (options.retryIf && !options.retryIf(err))) throw err;
      const wait = backoffDelay(attempt, backoff, 0.2);
      options.onError?.(err, attempt, wait);
      if (!(await sleep(wait, options.signal))) throw err;
    }
  }
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. Returns false if aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
