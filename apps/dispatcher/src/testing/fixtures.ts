import { SecretBox, type EventType, type SubscriptionSnapshot, type ValidatedEventMessage, SEED_EXAMPLES } from '@odis/contracts';
import type { Route } from '../routing/route.js';
import { EVENT_BIT } from '../routing/route.js';

/** Fixtures for the dispatcher's unit specs. */
export const TEST_KEY = Buffer.alloc(32, 7).toString('base64');
export const testBox = () => SecretBox.fromBase64(TEST_KEY);

export function snapshot(overrides: Partial<SubscriptionSnapshot> = {}, box = testBox()): SubscriptionSnapshot {
  const id = overrides.id ?? 'wh_1';
  return {
    v: 1,
    id,
    account_id: 'acct_1',
    url: 'https://hooks.example.com/odis',
    events: ['call.started', 'call.ended'],
    status: 'active',
    secret_encrypted: box.encrypt('whsec_plain_1', id),
    version: 1,
    updated_at: '2024-01-15T10:00:00Z',
    ...overrides,
  };
}

export function route(overrides: Partial<Route> & { events?: EventType[] } = {}): Route {
  const { events = ['call.started', 'call.ended', 'appointment.created'], ...rest } = overrides;
  const url = rest.url ?? 'https://hooks.example.com/odis';
  return {
    id: 'wh_1',
    accountId: 'acct_1',
    url,
    endpoint: new URL(url).origin,
    eventMask: events.reduce((m, e) => m | EVENT_BIT[e], 0),
    active: true,
    version: 1,
    secret: 'secret_1',
    secretEncrypted: 'enc:v1:x',
    ...rest,
  };
}

export function validatedEvent(type: EventType = 'call.started', overrides: Partial<ValidatedEventMessage> = {}): ValidatedEventMessage {
  const sample = SEED_EXAMPLES[type];
  return {
    v: 1,
    event_id: 'evt_1',
    account_id: 'acct_1',
    event: type,
    timestamp: sample.timestamp,
    data: sample.data as Record<string, unknown>,
    received_at: '2024-01-15T10:30:01Z',
    ...overrides,
  };
}
