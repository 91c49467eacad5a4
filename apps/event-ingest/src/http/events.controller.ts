import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiError } from '@odis/platform';
import { INGEST_CONFIG, type IngestConfig } from '../config/event-ingest.config.js';
import { IngestStats } from '../ingest/ingest-stats.js';
import { ValidatedEventPublisher } from '../ingest/validated-event.publisher.js';
import { EventValidator } from '../validation/event-validator.js';
import type { RequestWithRawBody } from './ingest-request.middleware.js';

const error = (status: number, code: string, message: string, field: string | null = null) => new ApiError(status, code, message, field ?? undefined);

/**
 * `POST /v1/events` for systems that cannot produce to Kafka: the same envelope as
 * `telephony.events.raw`; 202 with the event id once the validated event is acknowledged on its
 * topic, 400 naming the field otherwise (413 over the size limit, 401 without the token, 503 when
 * Kafka does not acknowledge in time).
 */
@Controller('v1')
export class EventsController {
  constructor(
    private readonly validator: EventValidator,
    private readonly publisher: ValidatedEventPublisher,
    private readonly stats: IngestStats,
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
  ) {}

  @Post('events')
  @HttpCode(202)
  async ingest(@Req() req: RequestWithRawBody) {
    const result = this.validator.validate(req.body ?? null, { receivedAt: new Date() });
    if (!result.ok) {
      this.stats.recordRejected(result.error.code);
      throw error(result.error.code === 'too_large' || result.error.code === 'body_too_large' ? 413 : 400, result.error.code, result.error.message, result.error.field);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.publisher.publish(result.event),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Kafka did not acknowledge in time')), this.config.INGEST_PUBLISH_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      throw error(503, 'unavailable', `event not stored: ${(err as Error).message}; retry with the same id`);
    } finally {
      clearTimeout(timer);
    }
    this.stats.recordAccepted('http', result.droppedFields);
    return { event_id: result.event.event_id, event: result.event.event, topic: result.topic, dropped_fields: result.droppedFields };
  }
}
