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
