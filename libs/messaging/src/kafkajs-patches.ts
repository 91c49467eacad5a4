import { createRequire } from 'node:module';

/**
 * Two changes to kafkajs 2.2.4 that make an idle app cost (almost) nothing
 * (docs/decisions/0007-idle-cost.md), applied once, on `createKafka`, to the classes kafkajs itself
 * loads. Both refuse any other kafkajs version than the one they were written for: an upgrade must
 * look again (the test beside this file fails then).
 *
 * 1. The request queue. kafkajs 2.2.4 keeps every broker connection's request queue on a 1 ms
 *    timer forever (tulios/kafkajs#1556, #1704; the fix proposed in #1667 was never released): after
 *    each check `scheduleCheckPendingRequests` arms a timer with `throttledUntil - Date.now()`,
 *    negative when no throttling is in effect, even when nothing is pending; an idle app spent most
 *    of its CPU there. This replaces that one method with the fix of #1667: a timer only when
 *    requests are pending (then at the end of the throttle, or after 10 ms when the throttle is
 *    marginal, kafkajs#1532); with nothing pending a new `push()` or a fulfilled request checks the
 *    queue anyway. Its request-timeout check also ran ten times a second on every connection; it
 *    runs once a second now (a request times out at most a second later than its 30 s).
 *
 * 2. Fetch waits that follow the partitions. A consumer's fetch wait (`maxWaitTimeInMs`) also bounds
 *    how late a *resumed* partition is fetched again (kafkajs cannot cut an in-flight fetch short),
 *    so the dispatcher and the retry-scheduler used 50-200 ms, and at rest that is 5-20 empty
 *    fetches a second. A consumer registered with `registerFetchWaits(groupId, …)` fetches with its
 *    short `busy` wait while any of its assigned partitions is paused, and with the long `idle` wait
 *    otherwise: a fetch sent with nothing paused includes every partition, so a new record ends it at
 *    once, and no partition can need a resume it waits for.
 *
 * 3. A rejoin that waits for the revoked work (decision 0002, "Scale-in"). kafkajs 2.x rebalances
 *    eagerly: on a rebalance every member gives up every partition and rejoins at once (it emits
 *    `REBALANCING`, then calls `joinAndSync`); it has no `onPartitionsRevoked` hook. Work still in
 *    flight then can no longer be committed once the new generation exists, so the next owner runs it
 *    again. A member for which `setRejoinGate(groupId, memberId, promise)` was called (from the
 *    `REBALANCING` listener) waits for that promise (the runner finishes and commits its in-flight
 *    work, bounded) before it sends JoinGroup, heartbeating meanwhile so the coordinator keeps it.
 *    Commits of the old generation are accepted while the group prepares the rebalance, and the
 *    group cannot complete it before this member joined (up to the rebalance timeout).
 */
const require = createRequire(import.meta.url);
export const KAFKAJS_PATCHED_VERSION = '2.2.4';
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const REQUEST_TIMEOUT_CHECK_MS = 1_000;

interface RequestQueueLike {
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  isConnected(): boolean;
  destroy(): void;
  scheduleRequestTimeoutCheck(): void;
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  scheduleCheckPendingRequests(): void;
}

interface ConsumerGroupLike {
  groupId: string;
  memberId: string | null;
  maxWaitTime: number;
  subscriptionState: { paused(): unknown[] };
  fetch(nodeId: number): Promise<unknown[]>;
  joinAndSync(): Promise<void>;
  heartbeat(options: { interval: number }): Promise<void>;
}

export interface FetchWaits {
  /** While a partition is paused (backpressure, a deferral): bounds how late it is fetched after its resume. */
  busyMs: number;
  /** While nothing is paused: only paces empty fetches (and how soon a rebalance or a stop is noticed). */
  idleMs: number;
}

const fetchWaits = new Map<string, FetchWaits>();

/** The fetch waits of one consumer group in this process (replaces an earlier registration). */
export function registerFetchWaits(groupId: string, waits: FetchWaits): () => void {
  fetchWaits.set(groupId, waits);
  return () => {
    if (fetchWaits.get(groupId) === waits) fetchWaits.delete(groupId);
  };
}

const rejoinGates = new Map<string, Promise<unknown>>();
const gateKey = (groupId: string, memberId: string | null | undefined) => `${groupId}|${memberId ?? ''}`;

/**
 * The member `memberId` of `groupId` rejoins only after `gate` settled (it must be bounded: the other
 * members wait for this one's JoinGroup). Call it synchronously from the `REBALANCING` listener;
 * consumed by the next `joinAndSync` of that member.
 */
export function setRejoinGate(groupId: string, memberId: string | null | undefined, gate: Promise<unknown>): void {
  const key = gateKey(groupId, memberId);
  rejoinGates.set(key, gate);
  // Settled before kafkajs asked (or kafkajs is not the patched version): nothing left to wait for.
  const forget = () => {
    if (rejoinGates.get(key) === gate) rejoinGates.delete(key);
  };
  gate.then(forget, forget);
}

/** How often a member waiting at its rejoin gate heartbeats (keeps its session while it drains). */
const GATE_HEARTBEAT_MS = 1_000;

async function waitAtGate(group: ConsumerGroupLike, gate: Promise<unknown>): Promise<void> {
  let done = false;
  const settled = gate.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, GATE_HEARTBEAT_MS)))]);
    clearTimeout(timer);
    // REBALANCE_IN_PROGRESS is the expected answer; the broker still renews the session on it.
    if (!done) await group.heartbeat({ interval: 0 }).catch(() => undefined);
  }
}

let applied: boolean | undefined;

/** Applies both changes (idempotent). Returns whether the installed kafkajs is the patched version. */
export function applyKafkajsPatches(): boolean {
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
  RequestQueue.prototype.scheduleRequestTimeoutCheck = function scheduleRequestTimeoutCheck(this: RequestQueueLike) {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this.requestTimeoutIntervalId = setInterval(
      () => {
        const now = Date.now();
        this.inflight.forEach((request) => {
          if (now - request.sentAt > request.requestTimeout) request.timeoutRequest();
        });
        if (!this.isConnected()) this.destroy();
      },
      Math.min(this.requestTimeout, REQUEST_TIMEOUT_CHECK_MS),
    );
  };
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupLike };
  const fetch = ConsumerGroup.prototype.fetch;
  ConsumerGroup.prototype.fetch = function fetchWithWaitsThatFollowThePartitions(this: ConsumerGroupLike, nodeId: number) {
    const waits = fetchWaits.get(this.groupId);
    if (waits) this.maxWaitTime = this.subscriptionState.paused().length > 0 ? waits.busyMs : waits.idleMs;
    return fetch.call(this, nodeId);
  };
  const joinAndSync = ConsumerGroup.prototype.joinAndSync;
  ConsumerGroup.prototype.joinAndSync = async function joinAndSyncAfterTheRejoinGate(this: ConsumerGroupLike) {
    const key = gateKey(this.groupId, this.memberId);
    const gate = rejoinGates.get(key);
    if (gate) {
      rejoinGates.delete(key);
      await waitAtGate(this, gate);
    }
    return joinAndSync.call(this);
  };
  return applied;
}

/**
 * kafkajs, patched, loaded through Node's own module cache: under jest an `import 'kafkajs'` gets a
 * copy in jest's module registry that the patches never reach, so `createKafka` takes it from here
 * and tests exercise the patched client exactly as the apps do.
 */
export function patchedKafkajs(): typeof import('kafkajs') {
  applyKafkajsPatches();
  return require('kafkajs');
}

/** The consumer group class kafkajs uses (for the test beside this file). */
export function kafkajsConsumerGroupClass(): { prototype: ConsumerGroupLike } {
  return require('kafkajs/src/consumer/consumerGroup.js');
}

/** The request queue class kafkajs uses (for the test beside this file). */
export function kafkajsRequestQueueClass(): new (options: Record<string, unknown>) => RequestQueueLike & { push(r: unknown): void; destroy(): void } {
  return require('kafkajs/src/network/requestQueue/index.js');
}
