/** A write based on a stale version of the subscription (optimistic concurrency). */
export class VersionConflictError extends Error {
  constructor(
    readonly subscriptionId: string,
    readonly expectedVersion: number | null,
    readonly currentVersion: number | null,
  ) {
    super(
      expectedVersion !== null && currentVersion !== null
        ? `webhook ${subscriptionId} is at version ${currentVersion}, not ${expectedVersion}`
        : `webhook ${subscriptionId} was changed concurrently`,
    );
    this.name = 'VersionConflictError';
  }
}

export class SubscriptionNotFoundError extends Error {
  constructor(readonly subscriptionId: string) {
    super(`webhook ${subscriptionId} not found`);
    this.name = 'SubscriptionNotFoundError';
  }
}

/** The account already has the most webhooks it may have (`WEBHOOK_MAX_PER_ACCOUNT`). */
export class WebhookLimitError extends Error {
  constructor(
    readonly accountId: string,
    readonly limit: number,
  ) {
    super(`an account may have at most ${limit} webhooks (WEBHOOK_MAX_PER_ACCOUNT); delete one before adding another`);
    this.name = 'WebhookLimitError';
  }
}
