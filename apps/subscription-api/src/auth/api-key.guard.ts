import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AccountDirectory, type AuthenticatedKey } from '@odis/subscriptions';
import { ApiError } from '../errors/api-error.js';
import { RateLimiter } from './rate-limiter.js';

type AuthedRequest = Request & { auth?: AuthenticatedKey };

/** `Authorization: Bearer <API key>` → the caller's account; then the per-key rate limit. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly accounts: AccountDirectory,
    @Inject(RateLimiter) private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (!header) throw ApiError.unauthorized('missing_api_key', 'missing Authorization: Bearer <API key> header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw ApiError.unauthorized('invalid_api_key', 'Authorization header must be "Bearer <API key>"');
    const auth = await this.accounts.authenticate(match[1]);
    if (!auth) throw ApiError.unauthorized('invalid_api_key', 'unknown or revoked API key');
    const wait = this.limiter.take(auth.keyId);
    if (wait > 0) throw ApiError.rateLimited(wait);
    req.auth = auth;
    return true;
  }
}

/** The authenticated account id of the request. */
export const AccountId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const auth = ctx.switchToHttp().getRequest<AuthedRequest>().auth;
  if (!auth) throw ApiError.unauthorized('missing_api_key', 'not authenticated');
  return auth.accountId;
});
