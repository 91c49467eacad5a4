/**
 * Retries `fn` with capped exponential backoff and jitter until it succeeds, `signal` aborts, or
 * `retryIf` says an error is not worth retrying (then that error is thrown at once).
 */
export async function retryWithBackoff<T>(
  fn: () => Promise<T>,
  options: {
    initialMs?: number;
    maxMs?: number;
    signal?: AbortSignal;
    retryIf?: (err: unknown) => boolean;
    onError?: (err: unknown, attempt: number, waitMs: number) => void;
  } = {},
): Promise<T> {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (options.signal?.aborted || (options.retryIf && !options.retryIf(err))) throw err;
      const wait = Math.min(max, initial * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      options.onError?.(err, attempt, Math.round(wait));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (options.signal?.aborted) throw err;
    }
  }
}
