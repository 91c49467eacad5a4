import { describe, expect, it } from '@jest/globals';
import { deliveryIdFor, deliveryJob, SEED_EXAMPLES, serializeWebhookPayload } from '@odis/contracts';
import { route, validatedEvent } from '../testing/fixtures.js';
import { FanOutPlanner } from './fan-out-planner.js';

describe('FanOutPlanner', () => {
  const planner = new FanOutPlanner();
  const now = Date.parse('2024-01-15T10:30:02Z');

  it('one delivery per subscription, with a stable delivery id and the seed bytes as body', () => {
    const event = validatedEvent('call.ended', { event_id: 'evt_42' });
    const routes = [route({ id: 'wh_a', url: 'https://a.example.com/x' }), route({ id: 'wh_b', url: 'https://b.example.com/y' })];
    const planned = planner.plan(event, routes, now);
    expect(planned).toHaveLength(2);
    const [a, b] = planned.map((p) => p.job);
    expect(a.delivery_id).toBe(deliveryIdFor('evt_42', 'wh_a'));
    expect(b.delivery_id).toBe(deliveryIdFor('evt_42', 'wh_b'));
    expect(planner.plan(event, routes, now + 999)[0].job.delivery_id).toBe(a.delivery_id);
    expect(a.body).toBe(serializeWebhookPayload(SEED_EXAMPLES['call.ended']));
    expect(a.body).toBe(b.body);
    expect(a).toMatchObject({ attempt: 1, due_at: now, url: 'https://a.example.com/x', subscription_id: 'wh_a', event_type: 'call.ended', account_id: 'acct_1', previous_attempts: [] });
    expect(a.created_at).toBe('2024-01-15T10:30:02.000Z');
    expect(a.event_received_at).toBe(event.received_at); // the disable email's recover call starts here
    expect(planned[1].route.id).toBe('wh_b');
    expect(deliveryJob.safeParse(a).success).toBe(true);
  });

  it('plans nothing without subscriptions', () => {
    expect(planner.plan(validatedEvent(), [], now)).toEqual([]);
  });
});
