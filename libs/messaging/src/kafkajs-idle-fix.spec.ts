import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { applyKafkajsIdleFix, kafkajsRequestQueueClass } from './kafkajs-idle-fix.js';

const quietLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function queue() {
  const RequestQueue = kafkajsRequestQueueClass();
  return new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b:9092', logger: quietLogger, isConnected: () => true });
}

describe('the kafkajs idle fix (kafkajs#1556)', () => {
  afterEach(() => jest.useRealTimers());

  it('applies to the installed kafkajs (an upgrade must look at the request queue again)', () => {
    expect(applyKafkajsIdleFix()).toBe(true);
  });

  it('arms no timer when nothing is pending: an idle connection costs nothing', () => {
    applyKafkajsIdleFix();
    jest.useFakeTimers();
    const q = queue();
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('still checks pending requests at the end of a throttle, and after 10 ms when the throttle is marginal', () => {
    applyKafkajsIdleFix();
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
