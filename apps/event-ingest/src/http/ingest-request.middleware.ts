import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from '@odis/contracts';
import { ApiError, sendApiError, withSpan } from '@odis/platform';
import { INGEST_CONFIG, type IngestConfig } from '../config/event-ingest.config.js';
import { HttpIngest, type IngestReply } from '../ingest/http-ingest.js';
import { isBatchBody, MAX_BATCH_EVENTS } from '../validation/event-batch.js';

const INGEST_PATH = '/v1/events';

/** The one API error shape (`{"error": {code, message, field}}`), written before Nest's pipeline. */
function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendApiError(res, new ApiError(status, code, message, undefined, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}));
}

/** Writes a reply in one go: status line, headers and body leave in one write. */
function sendReply(res: ServerResponse, reply: IngestReply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * `POST /v1/events`, answered here, without the rest of Nest's pipeline (no router, guards,
 * interceptors or pipes run for it: they cost more than the event's validation). The service token
 * first (401 without it, before any byte of the body is read), then the body as raw bytes with the
 * size limit (413 over it: from Content-Length at once, or while reading), then {@link HttpIngest}.
 * The size limit is INGEST_MAX_EVENT_BYTES for one event and the batch limit (the smaller of
 * INGEST_MAX_BATCH_BYTES and 100 × INGEST_MAX_EVENT_BYTES) for the batch form, told apart by the
 * body's first byte.
 */
@Injectable()
export class IngestRequestMiddleware implements NestMiddleware {
  private readonly expected: string;
  private readonly maxEventBytes: number;
  private readonly maxBatchBytes: number;

  constructor(
    @Inject(INGEST_CONFIG) config: IngestConfig,
    private readonly ingest: HttpIngest,
  ) {
    this.expected = `Bearer ${config.INGEST_SERVICE_TOKEN}`;
    this.maxEventBytes = config.INGEST_MAX_EVENT_BYTES;
    this.maxBatchBytes = Math.max(this.maxEventBytes, Math.min(config.INGEST_MAX_BATCH_BYTES, MAX_BATCH_EVENTS * this.maxEventBytes));
  }

  use(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    // Mounted on the path (a prefix for express): only the route itself is ours.
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    const query = url.indexOf('?');
    if ((query < 0 ? url : url.slice(0, query)).replace(/\/+$/, '') !== INGEST_PATH) return next();
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !safeEqual(auth, this.expected)) {
      req.resume();
      return sendError(res, 401, 'unauthorized', 'missing or wrong service token (Authorization: Bearer <INGEST_SERVICE_TOKEN>)');
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBatchBytes) {
      req.resume();
      return sendError(res, 413, 'too_large', `body is ${declared} bytes, more than the limit of ${this.maxBatchBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let limit = this.maxBatchBytes;
    let done = false;
    const tooLarge = (message: string) => {
      done = true;
      chunks.length = 0;
      req.resume();
      sendError(res, 413, 'too_large', message);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      if (chunks.length === 0 && !isBatchBody(chunk)) {
        // One event (not an array): its own limit, from Content-Length before reading further.
        limit = this.maxEventBytes;
        if (Number.isFinite(declared) && declared > limit) return tooLarge(`event is ${declared} bytes, more than the limit of ${limit}`);
      }
      size += chunk.length;
      if (size > limit) return tooLarge(limit === this.maxEventBytes ? `event is more than the limit of ${limit} bytes` : `body is more than the limit of ${limit} bytes`);
      chunks.push(chunk);
    });
    // Bound to the request's span: stream events otherwise run in the socket's async context (decision 0018).
    req.on('end', AsyncResource.bind(() => {
      if (done) return;
      done = true;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      // The `ingest` span: validation and the publish (the event's records carry its traceparent).
      withSpan('ingest', () => {
        const reply = this.ingest.handle(body);
        if (reply instanceof Promise) return reply.then((r) => sendReply(res, r), next);
        sendReply(res, reply);
      });
    }));
    req.on('error', (err) => {
      if (done) return;
      done = true;
      next(err);
    });
  }
}
