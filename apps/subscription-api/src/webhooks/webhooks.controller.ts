import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Patch, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiKeyResponses } from '../auth/api-key-responses.js';
import { IdParamPipe } from '../errors/input-safety.js';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import { presentHistoryEvent, presentWebhook } from './webhook.presenter.js';
import { createWebhookBody, listWebhooksQuery, rotateSecretBody, updateWebhookBody, type CreateWebhookBody, type UpdateWebhookBody } from './webhook.schemas.js';
import { WebhooksService } from './webhooks.service.js';
import { ZodPipe } from './zod-body.pipe.js';
import { ApiError } from '@odis/platform';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
const errorResponse = { description: 'JSON error: {"error": {"code", "message", "field"}} (field null when no single field is at fault)' };

/** Parses `If-Match: "3"` / `3` into a version; anything else is a 400. */
function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(ifMatch);
  if (!match) throw new ApiError(400, 'invalid_header', 'If-Match must be the webhook version, e.g. "3"', 'If-Match');
  return Number(match[1]);
}

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiKeyResponses()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    @Inject(SUBSCRIPTION_API_CONFIG) private readonly config: SubscriptionApiConfig,
  ) {}

  @Get('ips')
  @ApiOperation({ summary: 'The IP addresses webhook requests originate from, for your allowlist' })
  ips() {
    return { object: 'list', data: this.config.WEBHOOK_EGRESS_IPS };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a webhook endpoint' })
  @ApiBody({ schema: schema(createWebhookBody) })
  @ApiResponse({ status: 201, description: 'The webhook (with its `headers`); `secret` is included only when it was generated' })
  @ApiResponse({ status: 400, ...errorResponse })
  @ApiResponse({ status: 409, description: 'webhook_limit_reached: the account has WEBHOOK_MAX_PER_ACCOUNT webhooks already' })
  async create(@AccountId() accountId: string, @Body(new ZodPipe(createWebhookBody)) body: CreateWebhookBody, @Res({ passthrough: true }) res: Response) {
    const { webhook, generatedSecret } = await this.webhooks.create(accountId, body, `account:${accountId}`);
    res.setHeader('ETag', `"${webhook.version}"`);
    res.setHeader('Location', `/v1/webhooks/${webhook.id}`);
    return { ...presentWebhook(webhook), ...(generatedSecret ? { secret: generatedSecret } : {}) };
  }

  @Get()
  @ApiOperation({ summary: 'List webhooks (cursor pagination: limit, starting_after)' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'starting_after', required: false, type: String })
  async list(@AccountId() accountId: string, @Query(new ZodPipe(listWebhooksQuery, 'query')) query: z.infer<typeof listWebhooksQuery>) {
    const { items, hasMore } = await this.webhooks.list(accountId, query.limit, query.starting_after);
    return {
      object: 'list',
      data: items.map(presentWebhook),
      has_more: hasMore,
      next_cursor: hasMore ? items[items.length - 1].id : null,
    };
  }

  @Get(':id')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Retrieve a webhook' })
  async get(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Res({ passthrough: true }) res: Response) {
    const webhook = await this.webhooks.get(accountId, id);
    res.setHeader('ETag', `"${webhook.version}"`);
    return presentWebhook(webhook);
  }

  @Patch(':id')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Update a webhook; `status: "active"` re-enables one disabled after failures. Send If-Match: "<version>" to refuse stale writes (409).' })
  @ApiBody({ schema: schema(updateWebhookBody) })
  async update(
    @AccountId() accountId: string,
    @Param('id', IdParamPipe) id: string,
    @Body(new ZodPipe(updateWebhookBody)) body: UpdateWebhookBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const webhook = await this.webhooks.update(accountId, id, body, `account:${accountId}`, expectedVersion(ifMatch));
    res.setHeader('ETag', `"${webhook.version}"`);
    return presentWebhook(webhook);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Delete a webhook' })
  async remove(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Headers('if-match') ifMatch: string | undefined) {
    await this.webhooks.remove(accountId, id, `account:${accountId}`, expectedVersion(ifMatch));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiParam({ name: 'id' })
  @ApiOperation({
    summary:
      'Rotate the signing secret with an overlap: the new secret (`secret`, or generated) is returned once; until `previous_secret_expires_at` (now + `overlap`, default 24h, at most 7d) deliveries are signed with both secrets (X-ODIS-Signature keeps the old one, X-ODIS-Signature-Next carries the new one, webhook-signature carries both). Send If-Match: "<version>" to refuse stale writes (409).',
  })
  @ApiBody({ required: false, schema: schema(rotateSecretBody) })
  @ApiHeader({ name: 'If-Match', required: false, description: 'the webhook version you last read, e.g. "3": a newer version is a 409' })
  @ApiResponse({ status: 200, description: 'The webhook with `secret` (the new secret, shown only here) and `previous_secret_expires_at`' })
  @ApiResponse({ status: 400, ...errorResponse })
  @ApiResponse({ status: 404, description: 'No such webhook (or it was deleted)' })
  @ApiResponse({ status: 409, description: 'If-Match names an older version than the current one: {"error": {"code", "message", "field"}}' })
  async rotateSecret(
    @AccountId() accountId: string,
    @Param('id', IdParamPipe) id: string,
    @Body() raw: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    // The body is optional: no body (or an empty one) means a generated secret and the default overlap.
    const body = new ZodPipe(rotateSecretBody).transform(raw === undefined || raw === null || raw === '' ? {} : raw);
    const { webhook, secret } = await this.webhooks.rotateSecret(accountId, id, body, `account:${accountId}`, expectedVersion(ifMatch));
    res.setHeader('ETag', `"${webhook.version}"`);
    res.setHeader('Cache-Control', 'no-store');
    return { ...presentWebhook(webhook), secret };
  }

  @Get(':id/events')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'The full change history of a webhook, oldest first' })
  async history(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string) {
    const events = await this.webhooks.history(accountId, id);
    return { object: 'list', data: events.map((e) => presentHistoryEvent(id, e)) };
  }
}
