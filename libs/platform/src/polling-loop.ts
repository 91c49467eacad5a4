import { backoffDelay, type BackoffOptions } from '@odis/config';

export interface PollingLoopOptions {
  /**
   * One pass of the loop. Returns how long to wait before the next pass (ms), or null for `idleMs`.
   * A pass that throws is retried after the error backoff.
   */
  pass: () => Promise<number | null>;
  /** Longest wait between passes when nothing wakes the loop. */
  idleMs: number;
  /** Waits after consecutive failed passes (the one backoff: `initial · 2^(n-1)`, capped). */
  errorBackoff: BackoffOptions;
  /** Told about each failed pass, with the wait before the next (log it; clean up a connection). */
  onError?: (error: unknown, failures: number, waitMs: number) => void | Promise<void>;
}

/**
 * A background loop for work that lives in a table (the outbox relay, the notification sender):
 * run a pass; sleep what the pass asked, `idleMs`, or the error backoff; `wake()` (a NOTIFY, a new
 * row) ends the sleep at once, and a wake during a pass makes the next pass start at once, so no
 * wake-up is lost. `stop()` ends the sleep and waits for the running pass.
 */
export class PollingLoop {
  private running = false;
  private woken = false;
  private wakeSleeper: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly options: PollingLoopOptions) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeSleeper?.();
    await this.loop;
    this.loop = null;
  }

  /** Sleeps `ms`, or less when woken or stopped. For a pass that must wait inside itself. */
  sleep(ms: number): Promise<void> {
    if (!this.running || this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeSleeper === done) this.wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeSleeper = done;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.woken = false;
      let wait: number;
      try {
        wait = (await this.options.pass()) ?? this.options.idleMs;
        failures = 0;
      } catch (error) {
        failures++;
        wait = backoffDelay(failures, this.options.errorBackoff);
        await this.options.onError?.(error, failures, wait);
      }
      if (!this.running) break;
      if (this.woken || wait <= 0) continue;
      await this.sleep(wait);
    }
  }
}
