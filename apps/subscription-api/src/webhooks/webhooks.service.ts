import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { newId, SecretBox } from '@odis/contracts';
import { ApiError, checkTargetUrl, type Resolver } from '@odis/platform';
import { decideChanges, decideRotation, secretHint, SubscriptionStore, type SubscriptionChanges, type SubscriptionState } from '@odis/subscriptions';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import type { CreateWebhookBody, RotateSecretBody, UpdateWebhookBody } from './webhook.schemas.js';

/** How the API resolves a webhook's host for the target check (the system's DNS; tests bind their own). */
export abstract class DnsResolver {
  abstract resolve: Resolver;
}

/** Webhook use cases of the API; HTTP-free so it is easy to test. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly box: SecretBox,
    @Inject(SUBSCRIPTION_API_CONFIG) private readonly config: SubscriptionApiConfig,
    private readonly dns: DnsResolver,
  ) {}

  async create(accountId: string, body: CreateWebhookBody, actor: string): Promise<{ webhook: SubscriptionState; generatedSecret?: string }> {
    const url = await this.checkUrl(body.url);
    const generatedSecret = body.secret === undefined ? randomBytes(32).toString('base64url') : undefined;
    const secret = body.secret ?? generatedSecret!;
    const id = newId('wh');
    const webhook = await this.store.create(
      accountId,
      { id, url, events: body.events, description: body.description ?? null, secretEncrypted: this.box.encrypt(secret, id), secretHint: secretHint(secret), headers: body.headers, rateLimitPerSecond: body.rate_limit_per_second, ordering: body.ordering },
      actor,
      { maxPerAccount: this.config.WEBHOOK_MAX_PER_ACCOUNT },
    );
    return { webhook, generatedSecret };
  }

  async update(accountId: string, id: string, body: UpdateWebhookBody, actor: string, expectedVersion?: number): Promise<SubscriptionState> {
    const changes: SubscriptionChanges = {
      url: body.url === undefined ? undefined : await this.checkUrl(body.url),
      events: body.events,
      description: body.description,
      headers: body.headers,
      rateLimitPerSecond: body.rate_limit_per_second,
      ordering: body.ordering,
      status: body.status,
      secret: body.secret === undefined ? undefined : { encrypted: this.box.encrypt(body.secret, id), hint: secretHint(body.secret) },
    };
    const { state } = await this.store.change(accountId, id, (s) => decideChanges(s, changes), { actor, expectedVersion });
    return state;
  }

  /**
   * Rotates the secret with an overlap (decision 0010): the new secret (given or generated) signs
   * from now on, the replaced one keeps signing beside it for `overlap` ms. Returns the new secret
   * (the only time the API shows it). A disabled webhook may be rotated (nothing is sent while it is
   * disabled); a deleted or unknown one is a 404.
   */
  async rotateSecret(
    accountId: string,
    id: string,
    body: RotateSecretBody,
    actor: string,
    expectedVersion?: number,
  ): Promise<{ webhook: SubscriptionState; secret: string }> {
    const secret = body.secret ?? randomBytes(32).toString('base64url');
    const sealed = { encrypted: this.box.encrypt(secret, id), hint: secretHint(secret) };
    const { state } = await this.store.change(accountId, id, () => decideRotation(sealed, body.overlap, new Date()), { actor, expectedVersion });
    return { webhook: state, secret };
  }

  async remove(accountId: string, id: string, actor: string, expectedVersion?: number): Promise<void> {
    await this.store.change(accountId, id, () => [{ type: 'deleted', data: {} }], { actor, expectedVersion });
  }

  async get(accountId: string, id: string): Promise<SubscriptionState> {
    const webhook = await this.store.get(accountId, id);
    if (!webhook) throw ApiError.notFound('webhook', id);
    return webhook;
  }

  list(accountId: string, limit: number, after?: string) {
    return this.store.list(accountId, { limit, after });
  }

  async history(accountId: string, id: string) {
    const events = await this.store.history(accountId, id);
    if (!events) throw ApiError.notFound('webhook', id);
    return events;
  }

  private async checkUrl(raw: string): Promise<string> {
    const result = await checkTargetUrl(
      raw,
      { allowPrivateTargets: this.config.WEBHOOK_ALLOW_PRIVATE_TARGETS, requireHttps: !this.config.WEBHOOK_ALLOW_PRIVATE_TARGETS },
      this.dns.resolve,
    );
    if (!result.ok) throw ApiError.invalidField('url', result.reason);
    return result.url.toString();
  }
}
