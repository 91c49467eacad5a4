import { byId } from './dom.js';

/**
 * Status messages in one polite live region (role="status"): screen readers read each message,
 * and the message is shown on the page. Errors are marked with a class and the word "Error".
 */
export class Status {
  private readonly region = byId('status');

  ok(message: string): void {
    this.region.className = 'status ok';
    this.region.textContent = message;
  }

  error(error: unknown): void {
    this.region.className = 'status err';
    this.region.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
  }

  /** Runs `fn`, reporting a thrown error; returns its result or undefined. */
  async guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      this.error(error);
      return undefined;
    }
  }
}
