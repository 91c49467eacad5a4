/**
 * Every rejection of every HTTP app (the API, event-ingest): an HTTP status, a stable
 * machine-readable `code`, a human message, and the offending field (null when none). Rendered as
 * `{"error": {code, message, field}}`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static invalidField(field: string, message: string): ApiError {
    return new ApiError(400, 'invalid_field', `${field}: ${message}`, field);
  }
  static notFound(what: string, id: string): ApiError {
    return new ApiError(404, 'not_found', `no ${what} with id ${id}`, 'id');
  }
  static unauthorized(code: 'missing_api_key' | 'invalid_api_key', message: string): ApiError {
    return new ApiError(401, code, message, undefined, { 'WWW-Authenticate': 'Bearer' });
  }
  static conflict(message: string): ApiError {
    return new ApiError(409, 'version_conflict', message);
  }
  static unavailable(retryAfterSeconds: number, message = 'a service we depend on is not reachable; retry shortly'): ApiError {
    return new ApiError(503, 'service_unavailable', message, undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
  static rateLimited(retryAfterSeconds: number): ApiError {
    return new ApiError(429, 'rate_limited', `too many requests: retry after ${retryAfterSeconds} s`, undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }

  toBody() {
    return { error: { code: this.code, message: this.message, field: this.field ?? null } };
  }
}
