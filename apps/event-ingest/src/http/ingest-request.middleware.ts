import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from '@odis/contracts';
import { ApiError, sendApiError } from '@odis/platform';
import { INGEST_CONFIG, type IngestConfig } from '../config/event-ingest.config.js';

export type RequestWithRawBody = IncomingMessage & { body?: Buffer };

/** The one API error shape (`{"error": {code, message, field}}`), written before Nest's pipeline. */
function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendApiError(res, new ApiError(status, code, message, undefined, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}));
}

/**
 * Runs before `POST /v1/events`: the service token first (401 without it, before any byte of the
 * body is read), then the body as raw bytes with the size limit (413 over it, from Content-Length
 * at once or while reading). The controller validates the exact bytes.
 */
@Injectable()
export class IngestRequestMiddleware implements NestMiddleware {
  private readonly expected: string;
  private readonly maxBytes: number;

  constructor(@Inject(INGEST_CONFIG) config: IngestConfig) {
    this.expected = `Bearer ${config.INGEST_SERVICE_TOKEN}`;
    this.maxBytes = config.INGEST_MAX_EVENT_BYTES;
  }

  use(req: RequestWithRawBody, res: ServerResponse, next: (error?: unknown) => void): void {
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !safeEqual(auth, this.expected)) {
      req.resume();
      return sendError(res, 401, 'unauthorized', 'missing or wrong service token (Authorization: Bearer <INGEST_SERVICE_TOKEN>)');
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      req.resume();
      return sendError(res, 413, 'too_large', `event is ${declared} bytes, more than the limit of ${this.maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > this.maxBytes) {
        done = true;
        chunks.length = 0;
        return sendError(res, 413, 'too_large', `event is more than the limit of ${this.maxBytes} bytes`);
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      req.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      next();
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      next(err);
    });
  }
}
