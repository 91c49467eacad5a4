import type { DeliveryJob } from '@odis/contracts';

/**
 * One delivery job (attempt 1, due now-ish) with every field filled; `overrides` set what a test is
 * about. The one DeliveryJob fixture of unit tests, integration tests and benchmarks.
 */
export function deliveryJobFixture(overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  return {
    v: 1,
    delivery_id: 'dlv_1',
    event_id: 'evt_1',
    event_type: 'call.started',
    account_id: 'acct_1',
    subscription_id: 'wh_1',
    url: 'https://hooks.example.com/odis',
    secret_encrypted: 'enc:v1:x',
    body: '{"event":"call.started"}',
    attempt: 1,
    due_at: 0,
    created_at: '2024-01-15T10:30:01.000Z',
    previous_attempts: [],
    ...overrides,
  };
}
