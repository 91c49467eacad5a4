import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { applyKafkajsPatches, kafkajsConsumerGroupClass, kafkajsRequestQueueClass, registerFetchWaits, setRejoinGate } from './kafkajs-patches.js';

const quietLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function queue() {
  const RequestQueue = kafkajsRequestQueueClass();
  return new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b:9092', logger: quietLogger, isConnected: () => true });
}

describe('the kafkajs idle fix (kafkajs#1556)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('applies to the installed kafkajs (an upgrade must look at the request queue again)', () => {
    expect(applyKafkajsPatches()).toBe(true);
  });

  it('arms no timer when nothing is pending: an idle connection costs nothing', () => {
    applyKafkajsPatches();
    jest.useFakeTimers();
    const q = queue();
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('still checks pending requests at the end of a throttle, and after 10 ms when the throttle is marginal', () => {
    applyKafkajsPatches();
    jest.useFakeTimers();
    const q = queue();
    const sent: number[] = [];
    const request = (correlationId: number) => ({ entry: { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11 }, expectResponse: true, sendRequest: () => sent.push(correlationId) });
    q.throttledUntil = Date.now() + 500;
    q.push(request(1)); // throttled: pending, checked when the throttle ends
    expect(sent).toEqual([]);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(499);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual([1]);
    expect(jest.getTimerCount()).toBe(0); // nothing pending any more: no timer left

    q.throttledUntil = Date.now() + 1;
    q.push(request(2)); // in flight limit 1 reached: pending until request 1 is answered
    expect(sent).toEqual([1]);
    q.inflight.delete(1);
    q.throttledUntil = Date.now() - 1; // the throttle ran out before the check: the marginal case
    jest.advanceTimersByTime(10);
    expect(sent).toEqual([1, 2]);
  });
});

describe('the request-timeout check', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs once a second, not ten times, and still times out a request that ran over', () => {
    applyKafkajsPatches();
    jest.useFakeTimers();
    const RequestQueue = kafkajsRequestQueueClass();
    const q = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: true, clientId: 't', broker: 'b:9092', logger: quietLogger, isConnected: () => true });
    const timedOut: number[] = [];
    q.inflight.set(7, { sentAt: Date.now() - 30_500, requestTimeout: 30_000, timeoutRequest: () => timedOut.push(7) });
    q.scheduleRequestTimeoutCheck();
    jest.advanceTimersByTime(999);
    expect(timedOut).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(timedOut).toEqual([7]);
    q.destroy();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('fetch waits that follow the partitions', () => {
  function group(groupId: string, paused: unknown[]) {
    applyKafkajsPatches();
    const ConsumerGroup = kafkajsConsumerGroupClass();
    // Only what the patched fetch reads; the original fetch is replaced by one that records the wait.
    const instance = Object.create(ConsumerGroup.prototype) as { groupId: string; maxWaitTime: number; subscriptionState: { paused(): unknown[] }; fetch(n: number): Promise<unknown[]> };
    Object.assign(instance, { groupId, maxWaitTime: 500, subscriptionState: { paused: () => paused } });
    return { instance };
  }

  it('fetches with the idle wait while nothing is paused and the busy wait while a partition is', async () => {
    const unregister = registerFetchWaits('g-waits', { busyMs: 50, idleMs: 3_000 });
    const paused: unknown[] = [];
    const { instance } = group('g-waits', paused);
    // The original fetch needs a cluster; the wait is chosen before it runs, so its failure is expected.
    await instance.fetch(0).catch(() => undefined);
    expect(instance.maxWaitTime).toBe(3_000);
    paused.push({ topic: 't', partitions: [0] });
    await instance.fetch(0).catch(() => undefined);
    expect(instance.maxWaitTime).toBe(50);
    unregister();
    instance.maxWaitTime = 500;
    await instance.fetch(0).catch(() => undefined);
    expect(instance.maxWaitTime).toBe(500); // unregistered: kafkajs' own setting stays
  });
});

describe('the rejoin gate (a rebalance finishes the revoked work before this member rejoins)', () => {
  function member(groupId: string, memberId: string) {
    applyKafkajsPatches();
    const ConsumerGroup = kafkajsConsumerGroupClass();
    // kafkajs' own joinAndSync starts with `this.retrier(...)`: recording that call says it ran.
    const calls: string[] = [];
    const instance = Object.create(ConsumerGroup.prototype) as { joinAndSync(): Promise<void> };
    Object.assign(instance, {
      groupId,
      memberId,
      retrier: async () => void calls.push('join'),
      heartbeat: async () => {
        calls.push('heartbeat');
        throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
      },
    });
    return { instance, calls };
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  it('joins only once the gate settled, heartbeating meanwhile', async () => {
    jest.useFakeTimers();
    const { instance, calls } = member('g-gate', 'm-1');
    let open!: () => void;
    setRejoinGate('g-gate', 'm-1', new Promise<void>((r) => (open = r)));
    const joining = instance.joinAndSync();
    await jest.advanceTimersByTimeAsync(2_500);
    expect(calls).toEqual(['heartbeat', 'heartbeat']);
    open();
    await joining;
    expect(calls).toEqual(['heartbeat', 'heartbeat', 'join']);
    // The gate is used once: the next join does not wait.
    await instance.joinAndSync();
    expect(calls[calls.length - 1]).toBe('join');
  });

  it('joins at once without a gate, or when the gate is of another member', async () => {
    const { instance, calls } = member('g-gate2', 'm-1');
    setRejoinGate('g-gate2', 'm-2', new Promise<void>(() => undefined));
    await instance.joinAndSync();
    expect(calls).toEqual(['join']);
  });
});
