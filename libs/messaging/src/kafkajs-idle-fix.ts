import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 keeps every broker connection's request queue on a 1 ms timer forever
 * (tulios/kafkajs#1556, #1704; fix proposed in #1667, never released): after each check
 * `scheduleCheckPendingRequests` arms a timer with `throttledUntil - Date.now()`, negative when no
 * throttling is in effect, even when nothing is pending. An idle app spent most of its CPU there
 * (docs/decisions/0007-idle-cost.md). This replaces that one method with the fix of #1667:
 * a timer only when requests are pending (then at the end of the throttle, or after 10 ms when the
 * throttle is marginal, kafkajs#1532); with nothing pending a new `push()` or a fulfilled request
 * checks the queue anyway.
 *
 * Applied once, on import of `@odis/messaging` (`createKafka`), to the request queue class kafkajs
 * itself loads. It refuses to patch any other kafkajs version than the one it was written for: an
 * upgrade must look again (the test beside this file fails then).
 */
const require = createRequire(import.meta.url);
export const KAFKAJS_PATCHED_VERSION = '2.2.4';
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  inflight: Map<number, unknown>;
  scheduleCheckPendingRequests(): void;
}

let applied: boolean | undefined;

/** Applies the fix (idempotent). Returns whether the installed kafkajs is the patched version. */
export function applyKafkajsIdleFix(): boolean {
  if (applied !== undefined) return applied;
  const version = (require('kafkajs/package.json') as { version: string }).version;
  applied = version === KAFKAJS_PATCHED_VERSION;
  if (!applied) return applied;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueLike };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  return applied;
}

/** The request queue class kafkajs uses (for the test beside this file). */
export function kafkajsRequestQueueClass(): new (options: Record<string, unknown>) => RequestQueueLike & { push(r: unknown): void; destroy(): void } {
  return require('kafkajs/src/network/requestQueue/index.js');
}
