/** Polling with backoff and a deadline: readiness is always asked, never slept on. */
import { backoffDelay } from '@odis/config';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** First pause between attempts (ms), doubled each time up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Used in the timeout error. */
  what: string;
  /** Checked before each attempt: a reason string aborts at once (e.g. "process exited with 1"). */
  abort?: () => string | undefined;
}

/**
 * Call `attempt` until it resolves to something other than undefined/false, with exponential backoff,
 * until the deadline. The last error is part of the timeout message.
 */
export async function retryUntil<T>(attempt: () => Promise<T | undefined | false>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (let n = 0; ; n++) {
    const aborted = options.abort?.();
    if (aborted) throw new Error(`${options.what}: ${aborted}`);
    try {
      const result = await attempt();
      if (result !== undefined && result !== false) return result;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const delay = backoffDelay(n + 1, { initial: options.initialDelayMs ?? 100, max: options.maxDelayMs ?? 2_000 });
    if (Date.now() + delay > deadline) {
      const last = lastError ? ` (last error: ${(lastError as Error).message ?? lastError})` : '';
      throw new Error(`${options.what}: not ready after ${options.timeoutMs} ms${last}`);
    }
    await sleep(delay);
  }
}
