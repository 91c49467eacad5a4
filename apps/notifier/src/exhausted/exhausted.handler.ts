import { Logger, type LoggerService } from '@nestjs/common';
import { ExhaustedDeliveryCodec, type ExhaustedDelivery } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { classifyFailure } from '@odis/platform';
import type { AccountDirectory, DisabledEventData, DisableResult, SubscriptionStore } from '@odis/subscriptions';
import { DisabledWebhookEmail, disableReason, failedAttempts, lastErrorLabel } from './disabled-webhook-email.js';
import type { NotificationLogRepository } from '../notifications/notification-log.js';
import { odisMetrics } from '@odis/platform';

/** The part of SubscriptionStore the notifier uses. */
export type WebhookDisabler = Pick<SubscriptionStore, 'disableAfterExhaustion'>;
/** The part of AccountDirectory the notifier uses. */
export type AccountLookup = Pick<AccountDirectory, 'findById'>;

export const WEBHOOK_DISABLED_KIND = 'webhook_disabled';
export const SKIPPED_MISSING_WEBHOOK_KIND = 'skipped_missing_webhook';

/** One email per disabling: the version of the `disabled` event in the webhook's stream names it. */
export function disabledDedupeKey(subscriptionId: string, disabledEventVersion: number): string {
  return `webhook-disabled:${subscriptionId}:${disabledEventVersion}`;
}

export interface ExhaustedHandlerDeps {
  disabler: WebhookDisabler;
  accounts: AccountLookup;
  notifications: NotificationLogRepository;
  email: DisabledWebhookEmail;
  /** Called after a pending notification was inserted (wakes the sender). */
  onQueued?: () => void;
  clock?: () => number;
  logger?: LoggerService;
}

/** What the handler did with one message (for logs and tests). */
export type ExhaustedResult =
  | { action: 'queued_email' | 'email_already_queued'; dedupeKey: string }
  | { action: 'no_notification_email'; dedupeKey: string }
  | { action: 'skipped_missing_webhook' | 'skipped_reenabled_since' | 'skipped_disabled_by_someone_else' };

/**
 * Handles one `webhooks.exhausted` message: disables the webhook (an event in its stream; a no-op
 * when it already is), then records the email it owes the account in the notification log under
 * a key naming that disabling, before the offset is committed. A redelivered message finds the
 * webhook already disabled by the same event and the row already there: no second email.
 */
export class ExhaustedHandler {
  private readonly clock: () => number;
  private readonly logger: LoggerService;

  constructor(private readonly deps: ExhaustedHandlerDeps) {
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? new Logger('ExhaustedHandler');
  }

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = ExhaustedDeliveryCodec.decode(message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable exhausted delivery: ${decoded.reason}`);
    const position = `${message.topic}[${message.partition}]@${message.offset}`;
    try {
      const result = await this.process(decoded.value);
      this.logger.log(`${decoded.value.subscription_id} (${decoded.value.delivery_id}): ${result.action}`);
      return Outcome.done();
    } catch (err) {
      // Database away: the runner hands the same message over again until it is back (offset
      // uncommitted, shown on /ready). A statement that can never succeed: dead letter. Anything
      // else: thrown, so the runner's bounded retries decide (decision 0006).
      const failure = classifyFailure(err, 'postgres');
      if (failure.kind === 'outage') return Outcome.retry(failure.dependency ?? 'postgres', failure.reason);
      if (failure.kind === 'permanent') return Outcome.deadLetter(`${position}: ${failure.reason}`);
      throw err;
    }
  }

  async process(x: ExhaustedDelivery): Promise<ExhaustedResult> {
    const disabled = exhaustionDisable(x);
    const reason = disabled.reason;
    const result: DisableResult = await this.deps.disabler.disableAfterExhaustion(x.account_id, x.subscription_id, disabled, new Date(x.exhausted_at));

    if (result.status === 'not_found') {
      this.logger.warn(`exhausted delivery ${x.delivery_id} for webhook ${x.subscription_id} of ${x.account_id}, which does not exist: recorded and skipped`);
      await this.deps.notifications.insert({
        dedupeKey: `webhook-missing:${x.subscription_id}:${x.delivery_id}`,
        accountId: x.account_id,
        subscriptionId: x.subscription_id,
        kind: SKIPPED_MISSING_WEBHOOK_KIND,
        status: 'skipped',
        toAddress: null,
        subject: null,
        textBody: null,
        htmlBody: null,
        lastError: `webhook not found; exhausted delivery ${x.delivery_id} (${x.event_type} ${x.event_id})`,
      });
      return { action: 'skipped_missing_webhook' };
    }
    if (result.status === 'reenabled_since') {
      this.logger.log(`webhook ${x.subscription_id} was re-enabled after ${x.exhausted_at}: stale exhaustion of ${x.delivery_id} ignored`);
      return { action: 'skipped_reenabled_since' };
    }
    if (result.status === 'disabled') odisMetrics.webhooksDisabled.inc();
    const state = result.state;
    if (result.status === 'already_disabled' && result.cause !== 'exhausted') {
      this.logger.log(`webhook ${x.subscription_id} was already disabled by its owner (${state.disabledReason ?? 'no reason'}): no email`);
      return { action: 'skipped_disabled_by_someone_else' };
    }

    const dedupeKey = disabledDedupeKey(x.subscription_id, result.disabledEventVersion);
    const account = await this.deps.accounts.findById(x.account_id);
    const to = account?.notification_email?.trim() || null;
    if (!to) {
      this.logger.warn(`account ${x.account_id} has no notification email: webhook ${x.subscription_id} disabled, nobody emailed`);
      await this.deps.notifications.insert({
        dedupeKey,
        accountId: x.account_id,
        subscriptionId: x.subscription_id,
        kind: WEBHOOK_DISABLED_KIND,
        status: 'skipped',
        toAddress: null,
        subject: null,
        textBody: null,
        htmlBody: null,
        lastError: account ? 'account has no notification email' : 'account not found',
      });
      return { action: 'no_notification_email', dedupeKey };
    }

    const email = this.deps.email.compose({
      account: { id: x.account_id, name: account?.name ?? null },
      webhook: { id: x.subscription_id, url: x.url },
      disabledAt: state.disabledAt ?? new Date(this.clock()),
      reason: state.disabledReason ?? reason,
      delivery: { id: x.delivery_id, eventId: x.event_id, eventType: x.event_type, eventReceivedAt: x.event_received_at },
      attempts: x.attempts,
    });
    const inserted = await this.deps.notifications.insert({
      dedupeKey,
      accountId: x.account_id,
      subscriptionId: x.subscription_id,
      kind: WEBHOOK_DISABLED_KIND,
      status: 'pending',
      toAddress: to,
      subject: email.subject,
      textBody: email.text,
      htmlBody: email.html,
    });
    if (inserted) this.deps.onQueued?.();
    return { action: inserted ? 'queued_email' : 'email_already_queued', dedupeKey };
  }
}

/** The `disabled` event of an exhausted delivery: the text for people, the cause and attempt summary as data. */
export function exhaustionDisable(x: ExhaustedDelivery): DisabledEventData {
  return {
    reason: disableReason(x.attempts),
    cause: 'exhausted',
    exhaustion: {
      delivery_id: x.delivery_id,
      failed_attempts: failedAttempts(x.attempts),
      last_error: lastErrorLabel(x.attempts),
    },
  };
}
