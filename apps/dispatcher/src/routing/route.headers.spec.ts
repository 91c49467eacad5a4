import { describe, expect, it } from '@jest/globals';
import { deliveryJobFixture } from '@odis/testing';
import { DeliveryAttempter } from '../delivery/delivery-attempter.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import type { HttpOutcome, WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { snapshot, testBox } from '../testing/fixtures.js';
import { routeFromSnapshot } from './route.js';

const box = testBox();
const decrypt = (sealed: string, context: string) => box.decrypt(sealed, context);

describe('custom headers from the changelog to the request (decision 0013)', () => {
  it('a snapshot with headers gives a route and a target carrying them; one without, none', () => {
    const withHeaders = routeFromSnapshot(snapshot({ headers: { Authorization: 'Bearer t', 'X-Clinic': 'a' } }), decrypt);
    if (!withHeaders.ok) throw new Error(withHeaders.reason);
    expect(withHeaders.route.headers).toEqual({ Authorization: 'Bearer t', 'X-Clinic': 'a' });
    expect(DeliveryExecutor.targetOf(withHeaders.route).headers).toEqual({ Authorization: 'Bearer t', 'X-Clinic': 'a' });
    const without = routeFromSnapshot(snapshot(), decrypt);
    if (!without.ok) throw new Error(without.reason);
    expect(without.route.headers).toBeUndefined();
    expect(without.route.rateLimitPerSecond).toBeUndefined();
    const limited = routeFromSnapshot(snapshot({ rate_limit_per_second: 20 }), decrypt);
    expect(limited.ok && limited.route.rateLimitPerSecond).toBe(20);
    expect(DeliveryExecutor.targetOf(without.route).headers).toBeUndefined();
  });

  it('every attempt sends them beside ours (ours win a clash), and the log sees them', async () => {
    const sent: Record<string, string>[] = [];
    const client: WebhookHttpClient = {
      post: async (_url, _body, headers): Promise<HttpOutcome> => {
        sent.push(headers);
        return { kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 1 };
      },
      close: () => undefined,
    };
    const attempter = new DeliveryAttempter(client, undefined, () => 1_705_314_600_000);
    const result = await attempter.attempt(deliveryJobFixture({ attempt: 2 }), {
      url: 'https://r.example.com/h',
      secret: 's',
      headers: { Authorization: 'Bearer t', 'X-ODIS-Attempt': 'forged' },
    });
    expect(sent[0]).toMatchObject({ Authorization: 'Bearer t', 'X-ODIS-Attempt': '2', 'Content-Type': 'application/json' });
    expect(result.requestHeaders).toEqual(sent[0]);
  });
});
