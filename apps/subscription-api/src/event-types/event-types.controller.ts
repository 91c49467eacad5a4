import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, SEED_EXAMPLES, webhookPayloadSchema } from '@odis/contracts';

/** The catalogue of events a webhook can subscribe to, each with its payload schema and an example. */
@ApiTags('event-types')
@Controller('v1/event-types')
export class EventTypesController {
  private readonly catalogue = {
    object: 'list',
    data: EVENT_TYPES.map((type) => ({
      type,
      description: EVENT_DESCRIPTIONS[type],
      schema: z.toJSONSchema(webhookPayloadSchema(type), { unrepresentable: 'any' }),
      example: SEED_EXAMPLES[type],
    })),
  };

  @Get()
  @ApiOperation({ summary: 'Event types with their JSON schema and an example payload' })
  list() {
    return this.catalogue;
  }
}
