import { Catch, HttpException, Injectable, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { classifyFailure } from '../failure.js';
import { ApiError } from './api-error.js';

/** An app's own errors (domain errors, its database's data errors) as API errors; undefined: not one of its own. */
export abstract class ApiErrorMapper {
  abstract map(error: unknown): ApiError | undefined;
}

/**
 * Every error as the one JSON error shape. In order: an ApiError as it is; the app's own mapping;
 * body-parser errors (413, 400, 415); a dependency outage (decision 0006's classifier: Postgres,
 * Kafka, …) → 503 with Retry-After, never a 500; Nest's HTTP exceptions with their status; else 500.
 */
export function toApiError(error: unknown, mapper?: ApiErrorMapper): ApiError {
  if (error instanceof ApiError) return error;
  const own = mapper?.map(error);
  if (own) return own;
  const body = error as { type?: string; limit?: number } | null;
  switch (body?.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', `request body exceeds ${body.limit} bytes`);
    case 'entity.parse.failed':
      return new ApiError(400, 'malformed_json', 'request body is not valid JSON');
    case 'entity.verify.failed':
      return new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_encoding', 'request body must be UTF-8 JSON');
    case 'request.aborted':
    case 'stream.not.readable':
      return new ApiError(400, 'request_aborted', 'the request body was not received completely');
  }
  if (classifyFailure(error, 'postgres').kind === 'outage') return ApiError.unavailable(2);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = status === 404 ? 'route_not_found' : status === 405 ? 'method_not_allowed' : `http_${status}`;
    return new ApiError(status, code, error.message);
  }
  return new ApiError(500, 'internal_error', 'internal error');
}

/** Writes an API error (status, headers, JSON body) on a raw or Express response. */
export function sendApiError(res: ServerResponse, error: ApiError): void {
  const body = JSON.stringify(error.toBody());
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** The exception filter of every HTTP app (`APP_FILTER`): the one error shape, outages logged once per 10 s. */
@Catch()
@Injectable()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');
  private lastOutageLog = 0;

  constructor(@Optional() private readonly mapper?: ApiErrorMapper) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const error = toApiError(exception, this.mapper);
    if (error.status === 503) {
      // One line per 10 s while a dependency is away, not one stack per request.
      if (Date.now() - this.lastOutageLog > 10_000) {
        this.lastOutageLog = Date.now();
        this.logger.warn(`dependency unavailable: ${(exception as Error)?.message ?? String(exception)}`);
      }
    } else if (error.status >= 500) {
      this.logger.error((exception as Error)?.stack ?? String(exception));
    }
    sendApiError(host.switchToHttp().getResponse<ServerResponse>(), error);
  }
}

/** Express error middleware for what fails before Nest's pipeline (a body parser, input checks). */
export function apiErrorMiddleware(mapper?: ApiErrorMapper) {
  return (error: unknown, _req: unknown, res: ServerResponse, next: (error?: unknown) => void): void => {
    if (res.headersSent) return next(error);
    sendApiError(res, toApiError(error, mapper));
  };
}
