import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { classifyFailure } from '@odis/messaging';
import { ApiError } from './api-error.js';
import { SubscriptionNotFoundError, VersionConflictError, WebhookLimitError } from '@odis/subscriptions';

/**
 * True when `err` (or what it wraps) says a dependency — the database, or Kafka — is away or
 * overloaded, not that the request is wrong: the platform's one failure classifier (decision 0006).
 */
export function isDatabaseOutage(err: unknown): boolean {
  return classifyFailure(err, 'postgres').kind === 'outage';
}

/** A Postgres data exception (class 22: e.g. a NUL byte or invalid text for a column): the input was wrong. */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code ?? (err as { driverError?: { code?: unknown } })?.driverError?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** Maps every error to the API's JSON error shape; unknown errors become a logged 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof VersionConflictError) return ApiError.conflict(err.message);
  if (err instanceof SubscriptionNotFoundError) return ApiError.notFound('webhook', err.subscriptionId);
  if (err instanceof WebhookLimitError) return ApiError.webhookLimit(err.limit, err.message);
  const bodyError = err as { type?: string; status?: number; limit?: number };
  if (bodyError?.type === 'entity.too.large') {
    return new ApiError(413, 'payload_too_large', `request body exceeds ${bodyError.limit} bytes`);
  }
  if (bodyError?.type === 'entity.parse.failed') return new ApiError(400, 'malformed_json', 'request body is not valid JSON');
  if (bodyError?.type === 'entity.verify.failed') return new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8');
  if (bodyError?.type === 'encoding.unsupported' || bodyError?.type === 'charset.unsupported') {
    return new ApiError(415, 'unsupported_encoding', 'request body must be UTF-8 JSON');
  }
  if (bodyError?.type === 'request.aborted' || bodyError?.type === 'stream.not.readable') {
    return new ApiError(400, 'request_aborted', 'the request body was not received completely');
  }
  if (isDatabaseOutage(err)) return ApiError.unavailable(2);
  if (isDataException(err)) return new ApiError(400, 'invalid_value', 'a value of the request cannot be stored');
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = status === 404 ? 'route_not_found' : status === 405 ? 'method_not_allowed' : `http_${status}`;
    return new ApiError(status, code, err.message);
  }
  return new ApiError(500, 'internal_error', 'internal error');
}

function send(res: Response, error: ApiError) {
  res.status(error.status).set(error.headers).json(error.toBody());
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');
  private lastOutageLog = 0;

  catch(exception: unknown, host: ArgumentsHost) {
    const error = toApiError(exception);
    if (error.status === 503) {
      // One line per 10 s while the database is away, not one stack per request.
      if (Date.now() - this.lastOutageLog > 10_000) {
        this.lastOutageLog = Date.now();
        this.logger.warn(`database unavailable: ${(exception as Error)?.message ?? String(exception)}`);
      }
    } else if (error.status >= 500) {
      this.logger.error((exception as Error)?.stack ?? String(exception));
    }
    send(host.switchToHttp().getResponse<Response>(), error);
  }
}

/** Express error middleware for what fails before Nest's pipeline (the body parser, the input checks). */
export function bodyParserErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction) {
  if (res.headersSent) return next(err);
  send(res, toApiError(err));
}
