import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { DeliveryAttemptEntity } from '@odis/persistence';
import { SubscriptionStore } from '@odis/subscriptions';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { IdParamPipe } from '../errors/input-safety.js';
import { decodeCursor, DeliveryLogRepository, encodeCursor } from './delivery-log.repository.js';
import { ZodPipe } from '../webhooks/zod-body.pipe.js';
import { ApiError } from '@odis/platform';

const query = z.strictObject({
  limit: z.coerce.number({ message: 'must be a number' }).int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  /** The `next_cursor` of the previous page (or, as before, an ISO-8601 time: attempts strictly older). */
  before: z.string().max(300).optional(),
  outcome: z.enum(['succeeded', 'failed', 'skipped'], { message: 'must be succeeded, failed or skipped' }).optional(),
});

function present(a: DeliveryAttemptEntity) {
  return {
    object: 'delivery_attempt' as const,
    id: a.attemptId,
    delivery_id: a.deliveryId,
    event_id: a.eventId,
    event_type: a.eventType,
    webhook_id: a.subscriptionId,
    url: a.url,
    attempt: a.attempt,
    outcome: a.outcome,
    status_code: a.statusCode,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    duration_ms: Math.round(a.durationMs * 10) / 10,
    response_excerpt: a.responseExcerpt,
    attempted_at: a.attemptedAt.toISOString(),
    next_attempt_at: a.nextAttemptAt?.toISOString() ?? null,
  };
}

/** `before`: an opaque cursor of this API (exact position, ties broken by id) or a legacy ISO-8601 time. */
function parseBefore(before: string): { after?: ReturnType<typeof decodeCursor> & object; olderThan?: string } {
  const cursor = decodeCursor(before);
  if (cursor) return { after: cursor };
  if (z.iso.datetime({ offset: true }).safeParse(before).success) return { olderThan: before };
  throw ApiError.invalidField('before', 'must be the next_cursor of a previous page or an ISO-8601 timestamp');
}

/** The delivery log of a webhook: every attempt, newest first. */
@ApiTags('deliveries')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks/:id/deliveries')
export class DeliveriesController {
  constructor(
    private readonly log: DeliveryLogRepository,
    private readonly store: SubscriptionStore,
  ) {}

  @Get()
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'before', required: false, type: String })
  @ApiQuery({ name: 'outcome', required: false, enum: ['succeeded', 'failed', 'skipped'] })
  @ApiOperation({
    summary: 'Delivery attempts of a webhook, newest first (cursor: before=<next_cursor>, opaque; an ISO-8601 time is still accepted and means "older than")',
  })
  async list(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Query(new ZodPipe(query, 'query')) q: z.infer<typeof query>) {
    const position = q.before === undefined ? {} : parseBefore(q.before);
    if (!(await this.store.history(accountId, id))) throw ApiError.notFound('webhook', id);
    const page = await this.log.list({ accountId, subscriptionId: id, limit: q.limit, outcome: q.outcome, ...position });
    return {
      object: 'list',
      data: page.items.map(present),
      has_more: page.hasMore,
      next_cursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
    };
  }
}
