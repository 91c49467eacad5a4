import { describe, expect, it } from '@jest/globals';
import { toApiError } from '@odis/platform';
import { SubscriptionNotFoundError, VersionConflictError, WebhookLimitError } from '@odis/subscriptions';
import { SubscriptionApiErrorMapper } from './subscription-api-error.mapper.js';

const mapper = new SubscriptionApiErrorMapper();

/** TypeORM's QueryFailedError copies the driver error's fields and keeps it as driverError. */
function queryFailed(code: string, message: string): Error {
  const driverError = Object.assign(new Error(message), { code });
  return Object.assign(new Error(message), { name: 'QueryFailedError', driverError, code });
}

describe('the subscription-api errors in the one API error shape', () => {
  it('a Postgres data exception (e.g. a NUL byte) is a 400', () => {
    expect(toApiError(queryFailed('22021', 'invalid byte sequence for encoding "UTF8": 0x00'), mapper).status).toBe(400);
  });

  it('the webhook cap is a 409 naming the limit', () => {
    const mapped = toApiError(new WebhookLimitError('acct_1', 25), mapper);
    expect(mapped.status).toBe(409);
    expect(mapped.code).toBe('webhook_limit_reached');
    expect(mapped.message).toContain('25');
    expect(mapped.message).toContain('WEBHOOK_MAX_PER_ACCOUNT');
  });

  it('a stale version is a 409 and an unknown webhook a 404 naming the id', () => {
    expect(toApiError(new VersionConflictError('wh_1', 3, 4), mapper)).toMatchObject({ status: 409, code: 'version_conflict' });
    expect(toApiError(new SubscriptionNotFoundError('wh_9'), mapper)).toMatchObject({ status: 404, field: 'id' });
  });

  it('leaves everything else to the shared mapping (an outage is a 503, a bug a 500)', () => {
    expect(mapper.map(new Error('boom'))).toBeUndefined();
    expect(toApiError(new Error('Query read timeout'), mapper).status).toBe(503);
    expect(toApiError(new TypeError('x is undefined'), mapper).status).toBe(500);
  });
});
