import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AccountId, ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiKeyResponses } from '../auth/api-key-responses.js';
import { IdParamPipe } from '../errors/input-safety.js';
import { testEventBody } from './test-event.js';
import { TestEventService } from './test-event.service.js';
import { ZodPipe } from './zod-body.pipe.js';

const errorShape = '{"error": {"code", "message", "field"}}';

/** `POST /v1/webhooks/{id}/test`: see {@link TestEventService}. */
@ApiTags('webhooks')
@ApiBearerAuth()
@ApiKeyResponses()
@UseGuards(ApiKeyGuard)
@Controller('v1/webhooks')
export class TestEventController {
  constructor(private readonly tests: TestEventService) {}

  @Post(':id/test')
  @HttpCode(200)
  @ApiParam({ name: 'id' })
  @ApiOperation({
    summary:
      'Send a test event: the sample payload of `event` (default `call.started`) from the Webhooks page, signed like any delivery, in one attempt (never retried, never counted towards disabling; also sent while the webhook is disabled or not subscribed to the type). Answers once the attempt is done; it also appears in the delivery log (manual).',
  })
  @ApiBody({ required: false, schema: z.toJSONSchema(testEventBody, { io: 'input' }) as Record<string, unknown> })
  @ApiResponse({
    status: 200,
    description:
      'The attempt: `succeeded`, `status_code` (null without a response), `duration_ms`, `response_excerpt`, plus `outcome`, `error` ({class, message} or null), `delivery_id`, `event_id`',
  })
  @ApiResponse({ status: 400, description: `invalid_field (field \`event\`: not an event type): ${errorShape}` })
  @ApiResponse({ status: 404, description: 'No such webhook (or it was deleted)' })
  @ApiResponse({ status: 503, description: 'Kafka is not reachable: nothing was sent (Retry-After)' })
  @ApiResponse({ status: 504, description: 'test_event_timeout: the attempt was not recorded within WEBHOOK_TEST_TIMEOUT_MS (it may still happen; X-ODIS-Delivery-Id names it)' })
  async test(@AccountId() accountId: string, @Param('id', IdParamPipe) id: string, @Body() raw: unknown) {
    // The body is optional: none (or an empty one) means `call.started`.
    const body = new ZodPipe(testEventBody).transform(raw === undefined || raw === null || raw === '' ? {} : raw);
    return this.tests.send(accountId, id, body.event);
  }
}
