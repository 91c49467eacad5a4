import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AccountDirectory, hashApiKey, type AuthenticatedKey } from '@odis/subscriptions';
import { AuthThrottle } from './auth-throttle.js';
import { ApiError } from '@odis/platform';

type AuthedRequest = Request & { auth?: AuthenticatedKey };

/**
 * `Authorization: Bearer <API key>` → the caller's account. Every limit is applied before the
 * database is asked (see AuthThrottle): the presented key's own bucket; then the directory's caches
 * (a malformed or recently unknown key is a 401 at once); and only a key this instance has not seen
 * valid costs a lookup token of the client's address.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly accounts: AccountDirectory,
    @Inject(AuthThrottle) private readonly throttle: AuthThrottle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (!header) throw ApiError.unauthorized('missing_api_key', 'missing Authorization: Bearer <API key> header');
    const match = /^Bearer\s+(\S{1,200})\s*$/i.exec(header);
    if (!match) throw ApiError.unauthorized('invalid_api_key', 'Authorization header must be "Bearer <API key>"');
    const presented = match[1];
    const perKey = this.throttle.request(hashApiKey(presented));
    if (!perKey.ok) throw ApiError.rateLimited(perKey.retryAfterSeconds);
    let auth = this.accounts.cached(presented);
    if (auth === undefined) {
      if (!this.accounts.isKnownGood(presented)) {
        const lookup = this.throttle.lookup(req.ip ?? req.socket?.remoteAddress);
        if (!lookup.ok) throw ApiError.rateLimited(lookup.retryAfterSeconds);
      }
      auth = await this.accounts.authenticate(presented);
    }
    if (!auth) throw ApiError.unauthorized('invalid_api_key', 'unknown or revoked API key');
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
