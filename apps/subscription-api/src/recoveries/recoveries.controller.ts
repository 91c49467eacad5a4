import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiKeyResponses } from '../auth/api-key-responses.js';
import { IdParamPipe } from '../errors/input-safety.js';
import { ZodPipe } from '../webhooks/zod-body.pipe.js';
import { RecoveriesService, type RecoverBody } from './recoveries.service.js';

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 timestamp' });
/** `POST /v1/webhooks/{id}/recover`. */
export const recoverBody = z.strictObject({
  since: isoTime,
  until: isoTime.optional(),
  dry_run: z.boolean({ message: 'must be a boolean' }).optional(),
});

const errorResponse = { description: 'JSON error: {"error": {"code", "message", "field"}}' };

/** Recovery from the event log (issue 11 item 2, decision 0011). Account-scoped: another account's webhook is a 404. */
@ApiTags('recoveries')
@ApiBearerAuth()
@ApiKeyResponses()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks/:id')
export class RecoveriesController {
  constructor(private readonly recoveries: RecoveriesService) {}

  @Post('recover')
  @HttpCode(202)
  @ApiParam({ name: 'id' })
  @ApiBody({ schema: z.toJSONSchema(recoverBody, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> })
  @ApiOperation({
    summary:
      "Deliver again the account's events of the webhook's event types in [since, until) (until defaults to now) that the event log still retains, with their original event ids and new delivery ids; dry_run only counts them",
  })
  @ApiResponse({ status: 202, description: '{"object":"recovery","id":"rec_…","status":"queued"|"dry_run","events":N}' })
  @ApiResponse({ status: 400, description: 'Invalid body, or since beyond the event retention (EVENT_RETENTION_DAYS)' })
  @ApiResponse({ status: 404, ...errorResponse })
  @ApiResponse({ status: 409, description: 'The webhook is disabled: re-enable it first' })
  @ApiResponse({ status: 503, description: 'Kafka is not reachable, or counting the events took longer than 60 s (Retry-After): nothing was recorded' })
  recover(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Body(new ZodPipe(recoverBody)) body: RecoverBody) {
    return this.recoveries.recover(accountId, id, body);
  }

  @Get('recoveries/:rec_id')
  @ApiParam({ name: 'id' })
  @ApiParam({ name: 'rec_id' })
  @ApiOperation({ summary: 'Progress of a recovery: status (dry_run, queued, running, done), events, delivered, failed' })
  @ApiResponse({ status: 200, description: '{"object":"recovery","id","webhook_id","status","since","until","events","delivered","failed","created_at","started_at","finished_at"}' })
  @ApiResponse({ status: 404, ...errorResponse })
  get(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Param('rec_id', IdParamPipe) recId: string) {
    return this.recoveries.get(accountId, id, recId);
  }
}
