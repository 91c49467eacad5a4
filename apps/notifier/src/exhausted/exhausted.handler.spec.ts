import { describe, expect, it, beforeEach } from '@jest/globals';
import type { ExhaustedDelivery } from '@odis/contracts';
import type { InboundMessage } from '@odis/messaging';
import { disableCauseOf, isExhaustionReason, type DisableCause, type DisabledEventData, type DisableResult, type SubscriptionState } from '@odis/subscriptions';
import { DisabledWebhookEmail } from './disabled-webhook-email.js';
import { ExhaustedHandler, disabledDedupeKey, exhaustionDisable, type AccountLookup, type WebhookDisabler } from './exhausted.handler.js';
import { InMemoryNotificationLog } from '../notifications/testing/in-memory-notification-log.js';

/** disableAfterExhaustion with the store's semantics: versions, idempotence, re-enabled-since. */
class FakeWebhooks implements WebhookDisabler {
  readonly hooks = new Map<string, SubscriptionState & { disabledEventVersion?: number; disabledCause?: DisableCause; enabledAt?: Date }>();
  calls: Array<{ id: string; reason: string }> = [];
  failNext = 0;

  add(id: string, accountId = 'acct_1'): void {
    const at = new Date('2024-01-15T10:00:00Z');
    this.hooks.set(id, {
      id, accountId, url: `https://clinic.example.com/${id}`, events: ['call.ended'], description: null, secretEncrypted: 'x', secretHint: 'x',
      status: 'active', disabledReason: null, disabledAt: null, version: 1, createdAt: at, updatedAt: at, deletedAt: null,
    });
  }

  async disableAfterExhaustion(accountId: string, id: string, disabled: DisabledEventData, exhaustedAt: Date): Promise<DisableResult> {
    const reason = disabled.reason;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('Connection terminated unexpectedly');
    }
    this.calls.push({ id, reason });
    const h = this.hooks.get(id);
    if (!h || h.accountId !== accountId) return { status: 'not_found' };
    if (h.status === 'active' && h.enabledAt && h.enabledAt > exhaustedAt) return { status: 'reenabled_since', version: h.version, state: { ...h } };
    if (h.status === 'disabled') {
      const cause = disableCauseOf({ reason: h.disabledReason ?? '', cause: h.disabledCause });
      return { status: 'already_disabled', version: h.version, disabledEventVersion: h.disabledEventVersion ?? h.version, cause, state: { ...h } };
    }
    h.version++;
    h.status = 'disabled';
    h.disabledReason = reason;
    h.disabledCause = disabled.cause;
    h.disabledAt = new Date('2024-01-15T13:06:01Z');
    h.disabledEventVersion = h.version;
    return { status: 'disabled', version: h.version, disabledEventVersion: h.version, cause: disableCauseOf(disabled), state: { ...h } };
  }

  enable(id: string, at: Date): void {
    const h = this.hooks.get(id)!;
    h.version++;
    h.status = 'active';
    h.enabledAt = at;
  }
}

const attempts = [1, 2, 3, 4, 5].map((n) => ({
  attempt: n,
  attempted_at: `2024-01-15T1${n}:00:00.000Z`,
  outcome: 'failed' as const,
  status_code: 500,
  error_class: 'http_status',
  error_message: null,
  duration_ms: 12,
}));

function exhausted(overrides: Partial<ExhaustedDelivery> = {}): ExhaustedDelivery {
  return {
    v: 1,
    delivery_id: 'dlv_1',
    event_id: 'evt_1',
    event_type: 'call.ended',
    account_id: 'acct_1',
    subscription_id: 'wh_1',
    url: 'https://clinic.example.com/wh_1',
    attempts,
    exhausted_at: '2024-01-15T15:00:00.000Z',
    ...overrides,
  };
}

let offset = 0;
function message(value: unknown): InboundMessage {
  return {
    topic: 'webhooks.exhausted',
    partition: 0,
    offset: String(offset++),
    key: Buffer.from('wh_1'),
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: {},
    timestamp: Date.now(),
  };
}

describe('ExhaustedHandler', () => {
  let webhooks: FakeWebhooks;
  let log: InMemoryNotificationLog;
  let accounts: Map<string, { id: string; name: string; notification_email: string | null }>;
  let queued: number;
  let handler: ExhaustedHandler;
  const now = Date.parse('2024-01-15T15:00:01Z');

  beforeEach(() => {
    webhooks = new FakeWebhooks();
    webhooks.add('wh_1');
    log = new InMemoryNotificationLog(() => now);
    accounts = new Map([['acct_1', { id: 'acct_1', name: 'Happy Paws', notification_email: 'dev@happypaws.example' }]]);
    queued = 0;
    const lookup: AccountLookup = { findById: async (id: string) => accounts.get(id) ?? null };
    handler = new ExhaustedHandler({
      disabler: webhooks,
      accounts: lookup,
      notifications: log,
      email: new DisabledWebhookEmail(),
      onQueued: () => queued++,
      clock: () => now,
    });
  });

  it('disables the webhook with the reason and queues one email keyed by the disabled event', async () => {
    await expect(handler.handle(message(exhausted()))).resolves.toEqual({ kind: 'done' });
    expect(webhooks.calls).toEqual([{ id: 'wh_1', reason: '5 failed delivery attempts; last error: HTTP 500' }]);
    expect(webhooks.hooks.get('wh_1')!.status).toBe('disabled');
    expect(log.rows).toHaveLength(1);
    const row = log.rows[0]!;
    expect(row).toMatchObject({ dedupeKey: disabledDedupeKey('wh_1', 2), status: 'pending', kind: 'webhook_disabled', toAddress: 'dev@happypaws.example' });
    expect(row.dedupeKey).toBe('webhook-disabled:wh_1:2');
    expect(row.subject).toContain('https://clinic.example.com/wh_1');
    expect(row.textBody).toContain('wh_1');
    expect(row.htmlBody).toContain('curl -X PATCH');
    expect(queued).toBe(1);
  });

  it('a redelivered message (or a second exhausted delivery of the same webhook) queues nothing more', async () => {
    await handler.handle(message(exhausted()));
    await expect(handler.handle(message(exhausted()))).resolves.toEqual({ kind: 'done' });
    await expect(handler.process(exhausted({ delivery_id: 'dlv_2', event_id: 'evt_2' }))).resolves.toEqual({
      action: 'email_already_queued',
      dedupeKey: 'webhook-disabled:wh_1:2',
    });
    expect(log.rows).toHaveLength(1);
    expect(queued).toBe(1);
  });

  it('after a re-enable, the next disabling is a new event and gets its own email', async () => {
    await handler.handle(message(exhausted()));
    webhooks.enable('wh_1', new Date('2024-01-15T16:00:00Z'));
    await handler.handle(message(exhausted({ delivery_id: 'dlv_9', exhausted_at: '2024-01-15T20:00:00.000Z' })));
    expect(log.rows.map((r) => r.dedupeKey)).toEqual(['webhook-disabled:wh_1:2', 'webhook-disabled:wh_1:4']);
  });

  it('ignores a stale exhaustion of a webhook re-enabled since', async () => {
    await handler.handle(message(exhausted()));
    webhooks.enable('wh_1', new Date('2024-01-15T16:00:00Z'));
    await expect(handler.process(exhausted())).resolves.toEqual({ action: 'skipped_reenabled_since' });
    expect(webhooks.hooks.get('wh_1')!.status).toBe('active');
    expect(log.rows).toHaveLength(1);
  });

  it('sends an email when the webhook was disabled by us but the row is missing (crash between disable and insert)', async () => {
    await webhooks.disableAfterExhaustion('acct_1', 'wh_1', { reason: '5 failed delivery attempts; last error: HTTP 500' }, new Date()); // an event from before causes were data
    await expect(handler.process(exhausted())).resolves.toEqual({ action: 'queued_email', dedupeKey: 'webhook-disabled:wh_1:2' });
  });

  it('sends no exhaustion email for a webhook its owner had disabled', async () => {
    await webhooks.disableAfterExhaustion('acct_1', 'wh_1', { reason: 'disabled via API' }, new Date()); // an event from before causes were data
    await expect(handler.process(exhausted())).resolves.toEqual({ action: 'skipped_disabled_by_someone_else' });
    expect(log.rows).toHaveLength(0);
  });

  it('reads the cause as data: an owner disable whose text looks like an exhaustion sends no email; an exhaustion disable with other text does', async () => {
    await webhooks.disableAfterExhaustion('acct_1', 'wh_1', { reason: '5 failed delivery attempts; last error: HTTP 500', cause: 'owner' }, new Date());
    await expect(handler.process(exhausted())).resolves.toEqual({ action: 'skipped_disabled_by_someone_else' });
    webhooks.add('wh_2');
    await webhooks.disableAfterExhaustion('acct_1', 'wh_2', { reason: 'gave up', cause: 'exhausted' }, new Date());
    await expect(handler.process(exhausted({ subscription_id: 'wh_2' }))).resolves.toMatchObject({ action: 'queued_email' });
  });

  it('writes the cause and the attempt summary into the disabled event', async () => {
    expect(exhaustionDisable(exhausted())).toEqual({
      reason: '5 failed delivery attempts; last error: HTTP 500',
      cause: 'exhausted',
      exhaustion: { delivery_id: exhausted().delivery_id, failed_attempts: 5, last_error: 'HTTP 500' },
    });
    await handler.process(exhausted());
    expect(webhooks.hooks.get('wh_1')).toMatchObject({ status: 'disabled', disabledCause: 'exhausted' });
  });

  it('records and skips a webhook that no longer exists', async () => {
    await expect(handler.handle(message(exhausted({ subscription_id: 'wh_gone' })))).resolves.toEqual({ kind: 'done' });
    expect(log.rows).toHaveLength(1);
    expect(log.rows[0]).toMatchObject({ kind: 'skipped_missing_webhook', status: 'skipped', subscriptionId: 'wh_gone', toAddress: null });
    expect(queued).toBe(0);
  });

  it('disables all the same when the account has no notification email, and records why nobody was emailed', async () => {
    accounts.set('acct_1', { id: 'acct_1', name: 'Happy Paws', notification_email: null });
    await expect(handler.process(exhausted())).resolves.toEqual({ action: 'no_notification_email', dedupeKey: 'webhook-disabled:wh_1:2' });
    expect(webhooks.hooks.get('wh_1')!.status).toBe('disabled');
    expect(log.rows[0]).toMatchObject({ status: 'skipped', lastError: 'account has no notification email' });
    expect(queued).toBe(0);
  });

  it.each([
    ['not JSON', '{'],
    ['empty', null],
    ['wrong shape', { v: 1, delivery_id: 'x' }],
  ])('dead-letters an undecodable message (%s)', async (_name, value) => {
    const outcome = await handler.handle(message(value));
    expect(outcome.kind).toBe('dead-letter');
    expect((outcome as { reason: string }).reason).toMatch(/^undecodable exhausted delivery: /);
    expect(webhooks.calls).toHaveLength(0);
  });

  it('asks for a retry (no commit, no dead letter) while the database is down, then completes', async () => {
    webhooks.failNext = 2;
    const m = message(exhausted());
    const waiting = { kind: 'retry', dependency: 'postgres', reason: 'Connection terminated unexpectedly' };
    await expect(handler.handle(m)).resolves.toEqual(waiting);
    await expect(handler.handle(m)).resolves.toEqual(waiting);
    await expect(handler.handle(m)).resolves.toEqual({ kind: 'done' });
    expect(log.rows).toHaveLength(1);
  });

  it('a failed log insert after the disable is retried and still yields exactly one row', async () => {
    log.failNext = 1;
    const m = message(exhausted());
    expect(await handler.handle(m)).toEqual({ kind: 'retry', dependency: 'postgres', reason: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(webhooks.hooks.get('wh_1')!.status).toBe('disabled');
    expect((await handler.handle(m)).kind).toBe('done');
    expect(log.rows.map((r) => r.dedupeKey)).toEqual(['webhook-disabled:wh_1:2']);
  });

  it('recognises its own disable reasons', () => {
    expect(isExhaustionReason('5 failed delivery attempts; last error: timeout')).toBe(true);
    expect(isExhaustionReason('disabled via API')).toBe(false);
    expect(isExhaustionReason(null)).toBe(false);
  });
});
