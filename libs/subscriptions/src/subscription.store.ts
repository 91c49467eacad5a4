import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { newId, SubscriptionSnapshotCodec, TOPICS, type SubscriptionSnapshot } from '@odis/contracts';
import { SubscriptionEntity, SubscriptionEventEntity } from '@odis/persistence';
import { VersionConflictError, SubscriptionNotFoundError, WebhookLimitError } from './errors.js';
import { applySubscriptionEvent, disableCauseOf, type DisabledEventData, type DisableCause, type SubscriptionEvent, type SubscriptionState } from './subscription.events.js';

export const OUTBOX_CHANNEL = 'odis_outbox';

export interface StoredSubscriptionEvent {
  version: number;
  type: SubscriptionEvent['type'];
  data: Record<string, unknown>;
  actor: string;
  occurredAt: Date;
}

export type DisableResult =
  /** `cause`: who disabled it, from the (last) `disabled` event's data. */
  | { status: 'disabled' | 'already_disabled'; version: number; disabledEventVersion: number; cause: DisableCause; state: SubscriptionState }
  | { status: 'not_found' }
  | { status: 'reenabled_since'; version: number; state: SubscriptionState };

const UNIQUE_VIOLATION = '23505';

/**
 * Event-sourced subscriptions: every change appends events to the subscription's stream with the
 * next versions (unique per stream, so a concurrent writer loses with a conflict), and in the same
 * transaction projects the read model row and writes the changelog snapshot to the outbox.
 */
@Injectable()
export class SubscriptionStore {
  constructor(private readonly dataSource: DataSource) {}

  async create(
    accountId: string,
    input: {
      url: string;
      events: SubscriptionState['events'];
      description: string | null;
      secretEncrypted: string;
      secretHint: string;
      id?: string;
      headers?: Record<string, string>;
      rateLimitPerSecond?: number | null;
      ordering?: SubscriptionState['ordering'];
    },
    actor: string,
    options: { maxPerAccount?: number } = {},
  ): Promise<SubscriptionState> {
    const id = input.id ?? newId('wh');
    return this.dataSource.transaction(async (em) => {
      if (options.maxPerAccount !== undefined) await this.checkWebhookLimit(em, accountId, options.maxPerAccount);
      const event: SubscriptionEvent = {
        type: 'created',
        data: { url: input.url, events: [...new Set(input.events)], description: input.description, secret_encrypted: input.secretEncrypted, secret_hint: input.secretHint },
      };
      if (input.headers && Object.keys(input.headers).length > 0) event.data.headers = { ...input.headers };
      if (input.rateLimitPerSecond) event.data.rate_limit_per_second = input.rateLimitPerSecond;
      if (input.ordering && input.ordering !== 'none') event.data.ordering = input.ordering;
      const at = new Date();
      const state = applySubscriptionEvent(null, event, { id, accountId, version: 1, at });
      await this.appendEvents(em, state, null, [event], actor, at);
      await em.getRepository(SubscriptionEntity).insert(toRow(state));
      await this.writeOutbox(em, state);
      return state;
    });
  }

  /**
   * The per-account cap, race-free: the account row is locked for the rest of the create
   * transaction, so two concurrent creates of one account count one after the other.
   */
  private async checkWebhookLimit(em: EntityManager, accountId: string, max: number): Promise<void> {
    await em.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
    const rows: { n: number }[] = await em.query('SELECT count(*)::int AS n FROM subscriptions WHERE account_id = $1 AND deleted_at IS NULL', [accountId]);
    if ((rows[0]?.n ?? 0) >= max) throw new WebhookLimitError(accountId, max);
  }

  /**
   * Applies `decide(current)` as one atomic change. With `expectedVersion` a stale caller gets a
   * VersionConflictError; without it a concurrent change is retried on the fresh state (the
   * change is a delta, so nothing is lost).
   */
  async change(
    accountId: string,
    id: string,
    decide: (state: SubscriptionState) => SubscriptionEvent[],
    options: { actor: string; expectedVersion?: number },
  ): Promise<{ state: SubscriptionState; events: SubscriptionEvent[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction(async (em) => {
          const current = await this.load(em, accountId, id);
          if (!current) throw new SubscriptionNotFoundError(id);
          if (options.expectedVersion !== undefined && options.expectedVersion !== current.version) {
            throw new VersionConflictError(id, options.expectedVersion, current.version);
          }
          const events = decide(current);
          if (events.length === 0) return { state: current, events };
          const at = new Date();
          let next = current;
          events.forEach((event, i) => {
            next = applySubscriptionEvent(next, event, { id, accountId, version: current.version + i + 1, at });
          });
          await this.appendEvents(em, next, current.version, events, options.actor, at);
          const update = await em
            .createQueryBuilder()
            .update(SubscriptionEntity)
            .set(toRow(next))
            .where('id = :id AND version = :version', { id, version: current.version })
            .execute();
          if (update.affected !== 1) throw new VersionConflictError(id, current.version, null);
          await this.writeOutbox(em, next);
          return { state: next, events };
        });
      } catch (err) {
        const conflict = err instanceof VersionConflictError || (err as { code?: string }).code === UNIQUE_VIOLATION;
        if (!conflict) throw err;
        if (options.expectedVersion !== undefined || attempt >= 5) {
          throw err instanceof VersionConflictError ? err : new VersionConflictError(id, options.expectedVersion ?? null, null);
        }
      }
    }
  }

  /**
   * Disables a webhook after its deliveries were exhausted. Idempotent: an already disabled webhook
   * reports the version of the `disabled` event that disabled it. When the webhook was re-enabled
   * after `exhaustedAt`, the stale exhaustion is ignored.
   */
  async disable(accountId: string, id: string, disabled: DisabledEventData, actor: string): Promise<DisableResult> {
    try {
      const { state, events } = await this.change(
        accountId,
        id,
        (s) => (s.status === 'disabled' ? [] : [{ type: 'disabled', data: disabled }]),
        { actor },
      );
      if (events.length === 0) {
        const last = await this.lastDisabledEvent(id);
        const cause = disableCauseOf(last?.data ?? { reason: state.disabledReason ?? '' });
        return { status: 'already_disabled', version: state.version, disabledEventVersion: last?.version ?? state.version, cause, state };
      }
      return { status: 'disabled', version: state.version, disabledEventVersion: state.version, cause: disableCauseOf(disabled), state };
    } catch (err) {
      if (err instanceof SubscriptionNotFoundError) return { status: 'not_found' };
      throw err;
    }
  }

  /** Like `disable`, but first checks that the webhook was not re-enabled after the exhaustion. */
  async disableAfterExhaustion(accountId: string, id: string, disabled: DisabledEventData, exhaustedAt: Date): Promise<DisableResult> {
    const current = await this.get(accountId, id);
    if (!current) return { status: 'not_found' };
    if (current.status === 'active') {
      const enabledAt = await this.lastEventTime(id, 'enabled');
      if (enabledAt && enabledAt > exhaustedAt) return { status: 'reenabled_since', version: current.version, state: current };
    }
    return this.disable(accountId, id, disabled, 'system:notifier');
  }

  /**
   * One page of the stored secrets of every live (not deleted) webhook, in id order, for the
   * operator's `secrets reencrypt`: pass the last id of a page to get the next.
   */
  async secretsPage(
    afterId: string | null,
    limit: number,
  ): Promise<{ id: string; accountId: string; secretEncrypted: string; previousSecretEncrypted?: string | null }[]> {
    // The previous secret of a rotation counts only while its overlap lasts (an expired one signs nothing).
    const rows: { id: string; account_id: string; secret_encrypted: string; previous_secret_encrypted: string | null }[] = await this.dataSource.query(
      `SELECT id, account_id, secret_encrypted,
              CASE WHEN previous_secret_expires_at > now() THEN previous_secret_encrypted END AS previous_secret_encrypted
         FROM subscriptions WHERE deleted_at IS NULL AND ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, accountId: r.account_id, secretEncrypted: r.secret_encrypted, previousSecretEncrypted: r.previous_secret_encrypted }));
  }

  /**
   * Seals a webhook's secret again (`reseal` returns the new ciphertext, or null when it is already
   * sealed with the current key): a `secret_reencrypted` event appended with optimistic concurrency
   * (retried on a concurrent change, `reseal` then sees the fresh secret), read model and changelog
   * snapshot in the same transaction. `reseal` throwing (no key decrypts it) fails this webhook only.
   */
  async reencryptSecret(accountId: string, id: string, reseal: (sealed: string, id: string) => string | null, actor: string): Promise<'reencrypted' | 'current' | 'gone'> {
    try {
      const { events } = await this.change(
        accountId,
        id,
        (s) => {
          const sealed = reseal(s.secretEncrypted, s.id);
          // The previous secret of a rotation still in its overlap is sealed again too (decision 0010).
          const inOverlap = !!s.previousSecretEncrypted && !!s.previousSecretExpiresAt && s.previousSecretExpiresAt.getTime() > Date.now();
          const previous = inOverlap ? reseal(s.previousSecretEncrypted!, s.id) : null;
          if (sealed === null && previous === null) return [];
          return [
            {
              type: 'secret_reencrypted',
              data: { secret_encrypted: sealed ?? s.secretEncrypted, ...(previous !== null ? { previous_secret_encrypted: previous } : {}) },
            },
          ];
        },
        { actor },
      );
      return events.length ? 'reencrypted' : 'current';
    } catch (err) {
      if (err instanceof SubscriptionNotFoundError) return 'gone';
      throw err;
    }
  }

  async get(accountId: string, id: string): Promise<SubscriptionState | null> {
    return this.load(this.dataSource.manager, accountId, id);
  }

  /** Cursor pagination in creation order; the cursor is the last item's id. */
  async list(accountId: string, options: { limit: number; after?: string }): Promise<{ items: SubscriptionState[]; hasMore: boolean }> {
    const qb = this.dataSource
      .getRepository(SubscriptionEntity)
      .createQueryBuilder('s')
      .where('s.account_id = :accountId AND s.deleted_at IS NULL', { accountId })
      .orderBy('s.created_at', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .limit(options.limit + 1);
    if (options.after) {
      qb.andWhere(
        '(s.created_at, s.id) > (SELECT c.created_at, c.id FROM subscriptions c WHERE c.id = :after AND c.account_id = :accountId)',
        { after: options.after },
      );
    }
    const rows = await qb.getMany();
    return { items: rows.slice(0, options.limit).map(fromRow), hasMore: rows.length > options.limit };
  }

  /** The whole history of a webhook of this account, oldest first (also after deletion). */
  async history(accountId: string, id: string): Promise<StoredSubscriptionEvent[] | null> {
    const rows = await this.dataSource.getRepository(SubscriptionEventEntity).find({
      where: { subscriptionId: id, accountId },
      order: { version: 'ASC' },
    });
    if (rows.length === 0) return null;
    return rows.map((r) => ({ version: r.version, type: r.type as SubscriptionEvent['type'], data: redact(r.data), actor: r.actor, occurredAt: r.occurredAt }));
  }

  private async load(em: EntityManager, accountId: string, id: string): Promise<SubscriptionState | null> {
    const row = await em.getRepository(SubscriptionEntity).findOne({ where: { id, accountId } });
    return row && !row.deletedAt ? fromRow(row) : null;
  }

  private async lastDisabledEvent(id: string): Promise<{ version: number; data: DisabledEventData } | null> {
    const rows: { version: number; data: DisabledEventData }[] = await this.dataSource.query(
      "SELECT version, data FROM subscription_events WHERE subscription_id = $1 AND type = 'disabled' ORDER BY version DESC LIMIT 1",
      [id],
    );
    return rows[0] ?? null;
  }

  private async lastEventTime(id: string, type: string): Promise<Date | null> {
    const rows: { at: Date | null }[] = await this.dataSource.query(
      'SELECT max(occurred_at) AS at FROM subscription_events WHERE subscription_id = $1 AND type = $2',
      [id, type],
    );
    return rows[0]?.at ?? null;
  }

  private async appendEvents(em: EntityManager, state: SubscriptionState, fromVersion: number | null, events: SubscriptionEvent[], actor: string, at: Date) {
    const base = fromVersion ?? 0;
    await em.getRepository(SubscriptionEventEntity).insert(
      events.map((event, i) => ({
        subscriptionId: state.id,
        accountId: state.accountId,
        version: base + i + 1,
        type: event.type,
        data: event.data as never,
        actor,
        occurredAt: at,
      })),
    );
  }

  private async writeOutbox(em: EntityManager, state: SubscriptionState): Promise<void> {
    const message = state.deletedAt ? SubscriptionSnapshotCodec.tombstone(state.id) : SubscriptionSnapshotCodec.encode(toSnapshot(state));
    await em.query('INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, $3)', [TOPICS.subscriptions, message.key, message.value]);
    await em.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
  }
}

/** Secrets never leave the store through history, not even encrypted. */
function redact(data: Record<string, unknown>): Record<string, unknown> {
  const { secret_encrypted: _s, previous_secret_encrypted: _p, ...rest } = data;
  return rest;
}

export function toSnapshot(state: SubscriptionState): SubscriptionSnapshot {
  return {
    v: 1,
    id: state.id,
    account_id: state.accountId,
    url: state.url,
    events: state.events,
    status: state.status,
    secret_encrypted: state.secretEncrypted,
    previous_secret:
      state.previousSecretEncrypted && state.previousSecretExpiresAt
        ? { secret_encrypted: state.previousSecretEncrypted, expires_at: state.previousSecretExpiresAt.toISOString() }
        : null,
    version: state.version,
    disabled_reason: state.disabledReason,
    updated_at: state.updatedAt.toISOString(),
    ...(state.headers && Object.keys(state.headers).length > 0 ? { headers: state.headers } : {}),
    ...(state.rateLimitPerSecond ? { rate_limit_per_second: state.rateLimitPerSecond } : {}),
    ...(state.ordering && state.ordering !== 'none' ? { ordering: state.ordering } : {}),
  };
}

function toRow(s: SubscriptionState): SubscriptionEntity {
  return {
    id: s.id,
    accountId: s.accountId,
    url: s.url,
    events: s.events,
    description: s.description,
    headers: s.headers ?? {},
    rateLimitPerSecond: s.rateLimitPerSecond ?? null,
    ordering: s.ordering ?? 'none',
    secretEncrypted: s.secretEncrypted,
    secretHint: s.secretHint,
    previousSecretEncrypted: s.previousSecretEncrypted ?? null,
    previousSecretExpiresAt: s.previousSecretExpiresAt ?? null,
    status: s.status,
    disabledReason: s.disabledReason,
    disabledAt: s.disabledAt,
    version: s.version,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    deletedAt: s.deletedAt,
  };
}

function fromRow(r: SubscriptionEntity): SubscriptionState {
  return {
    id: r.id,
    accountId: r.accountId,
    url: r.url,
    events: r.events as SubscriptionState['events'],
    description: r.description,
    headers: r.headers ?? {},
    rateLimitPerSecond: r.rateLimitPerSecond ?? null,
    ordering: r.ordering === 'call' ? 'call' : 'none',
    secretEncrypted: r.secretEncrypted,
    secretHint: r.secretHint,
    previousSecretEncrypted: r.previousSecretEncrypted ?? null,
    previousSecretExpiresAt: r.previousSecretExpiresAt ?? null,
    status: r.status,
    disabledReason: r.disabledReason,
    disabledAt: r.disabledAt,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    deletedAt: r.deletedAt,
  };
}
