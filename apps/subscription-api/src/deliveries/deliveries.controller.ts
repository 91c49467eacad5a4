import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { DeliveryAttemptEntity } from '@odis/persistence';
import { SubscriptionStore } from '@odis/subscriptions';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiError } from '../errors/api-error.js';
import { ZodPipe } from '../webhooks/zod-body.pipe.js';

const query = z.strictObject({
  limit: z.coerce.number({ message: 'must be a number' }).int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  before: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 timestamp' }).optional(),
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

/** The delivery log of a webhook: every attempt, newest first. */
@ApiTags('deliveries')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks/:id/deliveries')
export class DeliveriesController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: SubscriptionStore,
  ) {}

  @Get()
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'before', required: false, type: String })
  @ApiQuery({ name: 'outcome', required: false, enum: ['succeeded', 'failed', 'skipped'] })
  @ApiOperation({ summary: 'Delivery attempts of a webhook, newest first (cursor: before=<attempted_at>)' })
  async list(@AccountId() accountId: string, @Param('id') id: string, @Query(new ZodPipe(query, 'query')) q: z.infer<typeof query>) {
    if (!(await this.store.history(accountId, id))) throw ApiError.notFound('webhook', id);
    const qb = this.dataSource
      .getRepository(DeliveryAttemptEntity)
      .createQueryBuilder('a')
      .where('a.account_id = :accountId AND a.subscription_id = :id', { accountId, id })
      .orderBy('a.attempted_at', 'DESC')
      .limit(q.limit + 1);
    if (q.before) qb.andWhere('a.attempted_at < :before', { before: q.before });
    if (q.outcome) qb.andWhere('a.outcome = :outcome', { outcome: q.outcome });
    const rows = await qb.getMany();
    const items = rows.slice(0, q.limit);
    return {
      object: 'list',
      data: items.map(present),
      has_more: rows.length > q.limit,
      next_cursor: rows.length > q.limit ? items[items.length - 1].attemptedAt.toISOString() : null,
    };
  }
}
