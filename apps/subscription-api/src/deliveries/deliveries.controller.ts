import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { EVENT_TYPES } from '@odis/contracts';
import { ApiError } from '@odis/platform';
import { SubscriptionStore } from '@odis/subscriptions';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiKeyResponses } from '../auth/api-key-responses.js';
import { IdParamPipe } from '../errors/input-safety.js';
import { ZodPipe } from '../webhooks/zod-body.pipe.js';
import { decodeCursor, DeliveryLogRepository, encodeCursor } from './delivery-log.repository.js';
import {
  deliveriesQuery,
  deliveryStatus,
  hourBuckets,
  OUTCOMES,
  parseWindow,
  presentAttempt,
  statsQuery,
  windowStart,
  type DeliveriesQuery,
  type HourCounts,
} from './delivery-query.js';
import { RedeliveryService } from './redelivery.service.js';

const errorResponse = { description: 'JSON error: {"error": {"code", "message", "field"}} (field null when no single field is at fault)' };

/** `before`: an opaque cursor of this API (exact position, ties broken by id) or a legacy ISO-8601 time. */
function parseBefore(before: string): { after?: ReturnType<typeof decodeCursor> & object; olderThan?: string } {
  const cursor = decodeCursor(before);
  if (cursor) return { after: cursor };
  if (z.iso.datetime({ offset: true }).safeParse(before).success) return { olderThan: before };
  throw ApiError.invalidField('before', 'must be the next_cursor of a previous page or an ISO-8601 timestamp');
}

/**
 * The delivery log of a webhook (account-scoped: another account's webhook or delivery is a 404):
 *
 * - `GET deliveries`: every attempt, newest first, filtered by `outcome`, `event_type`, `event_id`
 *   and `since` (inclusive) / `until` (exclusive) on `attempted_at`, paged with `before=<next_cursor>`.
 * - `GET deliveries/{delivery_id}`: one delivery with all its attempts, oldest first. Its `status`
 *   is decided by the last attempt: succeeded → `succeeded`; skipped (the webhook was disabled or
 *   deleted when the attempt was due) → `skipped`; failed with a next attempt scheduled → `pending`
 *   (`next_attempt_at` says when); failed with none scheduled → `failed`. `next_attempt_at` is null
 *   unless pending. Each attempt has the `request_headers` it sent (signatures, never the secret);
 *   the delivery has its `body` (the exact bytes, the same for every attempt). Both are null for
 *   deliveries logged before they were kept.
 * - `POST deliveries/{delivery_id}/redeliver`: sends the delivery again (same body bytes and event
 *   id, a new delivery id, one manual attempt without retries); 202 once Kafka has the job.
 * - `GET stats?window=24h`: succeeded/failed/skipped attempts per UTC hour over the window (`1h`
 *   to `7d`), every hour present, oldest first; the last bucket is the current (partial) hour.
 */
@ApiTags('deliveries')
@ApiBearerAuth()
@ApiKeyResponses()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks/:id')
export class DeliveriesController {
  constructor(
    private readonly log: DeliveryLogRepository,
    private readonly store: SubscriptionStore,
    private readonly redelivery: RedeliveryService,
  ) {}

  @Get('deliveries')
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1-100, default 20' })
  @ApiQuery({ name: 'before', required: false, type: String, description: 'the next_cursor of the previous page' })
  @ApiQuery({ name: 'outcome', required: false, enum: OUTCOMES })
  @ApiQuery({ name: 'event_type', required: false, enum: EVENT_TYPES })
  @ApiQuery({ name: 'event_id', required: false, type: String })
  @ApiQuery({ name: 'since', required: false, type: String, description: 'ISO-8601; attempts at or after this time' })
  @ApiQuery({ name: 'until', required: false, type: String, description: 'ISO-8601; attempts before this time (after since)' })
  @ApiResponse({
    status: 200,
    description:
      '{"object":"list","data":[delivery_attempt...],"has_more","next_cursor"}; each attempt has "next_attempt_at": when the next attempt is due (the schedule, pushed later by a 429/503 Retry-After, at most 2 h), null when none follows',
  })
  @ApiResponse({ status: 400, ...errorResponse })
  @ApiResponse({ status: 404, ...errorResponse })
  @ApiOperation({
    summary: 'Delivery attempts of a webhook, newest first, with filters (cursor: before=<next_cursor>, opaque; an ISO-8601 time is still accepted and means "older than")',
  })
  async list(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Query(new ZodPipe(deliveriesQuery, 'query')) q: DeliveriesQuery) {
    const position = q.before === undefined ? {} : parseBefore(q.before);
    await this.requireWebhook(accountId, id);
    const page = await this.log.list({
      accountId,
      subscriptionId: id,
      limit: q.limit,
      outcome: q.outcome,
      eventType: q.event_type,
      eventId: q.event_id,
      since: q.since,
      until: q.until,
      ...position,
    });
    return {
      object: 'list',
      data: page.items.map(presentAttempt),
      has_more: page.hasMore,
      next_cursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
    };
  }

  @Get('deliveries/:delivery_id')
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'delivery_id' })
  @ApiResponse({
    status: 200,
    description:
      '{"object":"delivery","id","webhook_id","event_id","event_type","url","body"(string|null),"attempts":[delivery_attempt (with request_headers, manual)..., oldest first],"status":"succeeded"|"failed"|"pending"|"skipped","next_attempt_at"}',
  })
  @ApiResponse({ status: 404, ...errorResponse })
  @ApiOperation({ summary: 'One delivery of a webhook with every attempt, oldest first, and its status (decided by the last attempt)' })
  async delivery(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Param('delivery_id', IdParamPipe) deliveryId: string) {
    await this.requireWebhook(accountId, id);
    const [attempts, stored] = await Promise.all([this.log.delivery(accountId, id, deliveryId), this.log.deliveryBody(accountId, id, deliveryId)]);
    if (attempts.length === 0) throw ApiError.notFound('delivery', deliveryId);
    const last = attempts[attempts.length - 1];
    const { status, nextAttemptAt } = deliveryStatus(attempts);
    return {
      object: 'delivery',
      id: deliveryId,
      webhook_id: id,
      event_id: last.eventId,
      event_type: last.eventType,
      url: last.url,
      body: stored.kind === 'stored' ? stored.body : null,
      attempts: attempts.map(presentAttempt),
      status,
      next_attempt_at: nextAttemptAt?.toISOString() ?? null,
    };
  }

  @Post('deliveries/:delivery_id/redeliver')
  @HttpCode(202)
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'delivery_id' })
  @ApiResponse({
    status: 202,
    description: '{"object":"delivery","id":"<new delivery id>","webhook_id","event_id","event_type","url","status":"queued","manual":true,"redelivery_of":"<delivery_id>","created_at"}',
  })
  @ApiResponse({ status: 404, ...errorResponse })
  @ApiResponse({ status: 409, description: 'webhook_disabled (re-enable it first) or body_not_stored (logged before bodies were kept)' })
  @ApiResponse({ status: 503, description: 'Kafka did not acknowledge the job (Retry-After); retrying may deliver twice, with the same event id' })
  @ApiOperation({
    summary: 'Send one delivery again: the same body bytes and X-ODIS-Event-Id, a new delivery id, one manual attempt (no retries, never counts toward disabling)',
  })
  redeliver(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Param('delivery_id', IdParamPipe) deliveryId: string) {
    return this.redelivery.redeliver(accountId, id, deliveryId);
  }

  @Get('stats')
  @ApiParam({ name: 'id' })
  @ApiQuery({ name: 'window', required: false, type: String, description: '1h to 7d in hours or days (e.g. 24h, 7d); default 24h' })
  @ApiResponse({
    status: 200,
    description:
      '{"object":"webhook_stats","webhook_id","window","buckets":[{"hour","succeeded","failed","skipped"}, one per UTC hour, oldest first],"totals":{"succeeded","failed","skipped"}}',
  })
  @ApiResponse({ status: 400, ...errorResponse })
  @ApiResponse({ status: 404, ...errorResponse })
  @ApiOperation({ summary: 'Succeeded/failed attempts of a webhook per hour over a window (every hour present, zeros included)' })
  async stats(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Query(new ZodPipe(statsQuery, 'query')) q: z.infer<typeof statsQuery>) {
    const { window, hours } = parseWindow(q.window);
    await this.requireWebhook(accountId, id);
    const start = windowStart(new Date(), hours);
    const rows = await this.log.hourlyCounts(accountId, id, start, hours);
    const counts = new Map<number, HourCounts>(rows.map((r) => [r.hour, { succeeded: r.succeeded, failed: r.failed, skipped: r.skipped }]));
    return { object: 'webhook_stats', webhook_id: id, window, ...hourBuckets(start, hours, counts) };
  }

  /** This account's webhook (also after deletion: its log stays readable), else a 404. */
  private async requireWebhook(accountId: string, id: string): Promise<void> {
    if (!(await this.store.history(accountId, id))) throw ApiError.notFound('webhook', id);
  }
}
