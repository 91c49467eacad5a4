import type { ValidatedEventMessage } from '@odis/contracts';
import { isBatchBody, MAX_BATCH_EVENTS, splitEventBatch } from '../validation/event-batch.js';
import type { EventValidator, ValidationCode, ValidationError } from '../validation/event-validator.js';
import type { IngestStats } from './ingest-stats.js';
import { PublishDeadlines } from './publish-deadlines.js';

export interface ApiErrorBody {
  code: string;
  message: string;
  field: string | null;
}

/** What `POST /v1/events` answers: the status, the JSON body, extra headers. */
export interface IngestReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface AcceptedEvent {
  event_id: string;
  event: string;
  topic: string;
  dropped_fields: string[];
}

/** One element of the batch form's answer, in the order of the request. */
export type BatchItem = ({ status: 202 } & AcceptedEvent) | { status: number; error: ApiErrorBody };

const RETRY_AFTER = { 'Retry-After': '1' };
const statusOf = (code: ValidationCode) => (code === 'too_large' || code === 'body_too_large' ? 413 : 400);
const unavailable = (message: string): ApiErrorBody => ({ code: 'unavailable', message: `event not stored: ${message}; retry with the same id`, field: null });

/**
 * `POST /v1/events` once the service token and the body's size were checked: one event (an object)
 * or the batch form (an array of 1 to 100 events). Each valid event is published to its topic and
 * reported accepted only once Kafka acknowledged it (acks = all); a publish that Kafka does not
 * acknowledge within `publishTimeoutMs` is reported 503 (retry with the same id). Plain class: the
 * HTTP shell is IngestRequestMiddleware.
 */
export class HttpIngest {
  private readonly deadlines: PublishDeadlines;

  constructor(
    private readonly validator: EventValidator,
    private readonly publish: (event: ValidatedEventMessage) => Promise<unknown>,
    private readonly stats: IngestStats,
    publishTimeoutMs: number,
  ) {
    this.deadlines = new PublishDeadlines(publishTimeoutMs);
  }

  handle(body: Buffer | null | undefined): Promise<IngestReply> | IngestReply {
    if (body && body.length > 0 && isBatchBody(body)) return this.batch(body);
    return this.single(body);
  }

  private single(body: Buffer | null | undefined): Promise<IngestReply> | IngestReply {
    const result = this.validator.validate(body ?? null, { receivedAt: new Date() });
    if (!result.ok) {
      this.stats.recordRejected(result.error.code);
      return { status: statusOf(result.error.code), body: { error: result.error } };
    }
    return this.deadlines.race(this.publish(result.event), timedOut).then(
      (): IngestReply => {
        this.stats.recordAccepted('http', result.droppedFields, result.event.event);
        return { status: 202, body: { event_id: result.event.event_id, event: result.event.event, topic: result.topic, dropped_fields: result.droppedFields } };
      },
      (err: unknown): IngestReply => ({ status: 503, body: { error: unavailable((err as Error).message) }, headers: RETRY_AFTER }),
    );
  }

  private async batch(body: Buffer): Promise<IngestReply> {
    const split = splitEventBatch(body, MAX_BATCH_EVENTS);
    if (!split.ok) {
      this.stats.recordRejected('invalid_batch');
      return { status: 400, body: { error: { code: 'invalid_batch', message: `${split.field}: ${split.message}`, field: split.field } } };
    }
    const receivedAt = new Date();
    const items: BatchItem[] = new Array(split.elements.length);
    const waits: Promise<void>[] = [];
    split.elements.forEach((bytes, i) => {
      const result = this.validator.validate(bytes, { receivedAt, ingestSeq: i });
      if (!result.ok) {
        this.stats.recordRejected(result.error.code);
        items[i] = { status: statusOf(result.error.code), error: elementError(i, result.error) };
        return;
      }
      waits.push(
        this.deadlines.race(this.publish(result.event), timedOut).then(
          () => {
            this.stats.recordAccepted('http', result.droppedFields, result.event.event);
            items[i] = { status: 202, event_id: result.event.event_id, event: result.event.event, topic: result.topic, dropped_fields: result.droppedFields };
          },
          (err: unknown) => {
            items[i] = { status: 503, error: unavailable((err as Error).message) };
          },
        ),
      );
    });
    await Promise.all(waits);
    const accepted = items.reduce((n, item) => n + (item.status === 202 ? 1 : 0), 0);
    const reply: IngestReply = { status: accepted === items.length ? 202 : 200, body: { object: 'list', data: items, accepted, rejected: items.length - accepted } };
    if (items.some((item) => item.status === 503)) reply.headers = RETRY_AFTER;
    return reply;
  }
}

function timedOut(): Error {
  return new Error('Kafka did not acknowledge in time');
}

/** An element's error with its position: `[3].data.call_id`, or `[3]` for the whole element. */
function elementError(index: number, error: ValidationError): ApiErrorBody {
  const field = error.field ? `[${index}].${error.field}` : `[${index}]`;
  return { code: error.code, message: `${field}: ${error.message}`, field };
}
