import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

/**
 * The OpenAPI responses every API-key route shares (ApiKeyGuard and the per-key rate limit), for a
 * controller class: 401 without a valid key, 429 beyond the key's token bucket.
 */
export function ApiKeyResponses() {
  return applyDecorators(
    ApiResponse({ status: 401, description: 'missing_api_key or invalid_api_key: {"error": {"code", "message", "field"}}' }),
    ApiResponse({ status: 429, description: 'Too many requests for this API key (API_RATE_LIMIT_PER_SECOND / _BURST); wait Retry-After seconds' }),
  );
}
