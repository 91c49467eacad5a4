import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './api-error.js';
import { SubscriptionNotFoundError, VersionConflictError } from '@odis/subscriptions';

/** Maps every error to the API's JSON error shape; unknown errors become a logged 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof VersionConflictError) return ApiError.conflict(err.message);
  if (err instanceof SubscriptionNotFoundError) return ApiError.notFound('webhook', err.subscriptionId);
  const bodyError = err as { type?: string; status?: number; limit?: number };
  if (bodyError?.type === 'entity.too.large') {
    return new ApiError(413, 'payload_too_large', `request body exceeds ${bodyError.limit} bytes`);
  }
  if (bodyError?.type === 'entity.parse.failed') return new ApiError(400, 'malformed_json', 'request body is not valid JSON');
  if (bodyError?.type === 'encoding.unsupported' || bodyError?.type === 'charset.unsupported') {
    return new ApiError(415, 'unsupported_encoding', 'request body must be UTF-8 JSON');
  }
  const name = (err as Error)?.name;
  const code = (err as { code?: string })?.code;
  if (name === 'CannotExecuteNotConnectedError' || name === 'ConnectionIsNotSetError' || code === 'ECONNREFUSED' || code === '57P01') {
    return new ApiError(503, 'service_unavailable', 'the database is not reachable yet; retry shortly', undefined, { 'Retry-After': '1' });
  }
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

  catch(exception: unknown, host: ArgumentsHost) {
    const error = toApiError(exception);
    if (error.status >= 500) this.logger.error((exception as Error)?.stack ?? String(exception));
    send(host.switchToHttp().getResponse<Response>(), error);
  }
}

/** Express error middleware for what fails before Nest's pipeline (the body parser). */
export function bodyParserErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction) {
  if (res.headersSent) return next(err);
  send(res, toApiError(err));
}
