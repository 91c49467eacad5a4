import { Injectable } from '@nestjs/common';
import { ApiError, ApiErrorMapper } from '@odis/platform';
import { SubscriptionNotFoundError, VersionConflictError, WebhookLimitError } from '@odis/subscriptions';

/** A Postgres data exception (class 22: e.g. a NUL byte or invalid text for a column): the input was wrong. */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code ?? (err as { driverError?: { code?: unknown } })?.driverError?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** The subscription-api's own errors in the one API error shape (the rest: `toApiError`). */
@Injectable()
export class SubscriptionApiErrorMapper extends ApiErrorMapper {
  map(err: unknown): ApiError | undefined {
    if (err instanceof VersionConflictError) return ApiError.conflict(err.message);
    if (err instanceof SubscriptionNotFoundError) return ApiError.notFound('webhook', err.subscriptionId);
    if (err instanceof WebhookLimitError) return new ApiError(409, 'webhook_limit_reached', err.message, undefined, { 'X-Webhook-Limit': String(err.limit) });
    if (isDataException(err)) return new ApiError(400, 'invalid_value', 'a value of the request cannot be stored');
    return undefined;
  }
}
