import { EVENT_TYPES, type EventType } from '@odis/contracts';
import { EVENT_BIT, EVENT_INDEX, type Route } from './route.js';

const EMPTY: readonly Route[] = Object.freeze([]);

export type ApplyResult = 'added' | 'updated' | 'stale' | 'removed' | 'unknown';

/**
 * (account, event type) → active subscriptions, in memory, built from the subscription changelog.
 * Lookups are one Map get and an array index, allocation-free; an update replaces the few arrays of
 * one account (copy-on-write, so a fan-out holding an array never sees it change under it).
 * Also remembers ids it saw deleted (tombstones) so a queued delivery of a deleted webhook is skipped.
 *
 * Deletes are final: once an id is tombstoned, no snapshot of it is applied again, whatever its
 * version. Subscription ids are never reused (random ids, and the subscriptions row of a deleted
 * webhook stays, so its primary key refuses a re-create), so any snapshot that follows a tombstone
 * is a stale one (e.g. from an outbox relay that lost leadership mid-send). A Kafka tombstone has no
 * value, so it carries no version; the table keeps the last version it knew (or null).
 *
 * Ids whose latest snapshot could not be read (undecodable, secret that does not decrypt) are
 * "unreadable": not routed (fail closed), and a queued delivery for them is not sent either.
 */
export class RoutingTable {
  private readonly byId = new Map<string, Route>();
  /** account id → active routes per event type (index = EVENT_INDEX). */
  private readonly byAccount = new Map<string, (readonly Route[])[]>();
  /** Deleted ids → the last version known before the delete (null when the table never held it). */
  private readonly deleted = new Map<string, number | null>();
  /** Ids whose latest record could not be read → its version when known. */
  private readonly unreadable = new Map<string, number | null>();

  get size(): number {
    return this.byId.size;
  }

  get activeCount(): number {
    let n = 0;
    for (const r of this.byId.values()) if (r.active) n++;
    return n;
  }

  get(id: string): Route | undefined {
    return this.byId.get(id);
  }

  /** True when the changelog said this subscription was deleted (final: ids are never reused). */
  isDeleted(id: string): boolean {
    return this.deleted.has(id);
  }

  /** Last version known of a deleted subscription (null: deleted before this table held it). */
  deletedVersion(id: string): number | null | undefined {
    return this.deleted.get(id);
  }

  /** True when the latest record of this subscription could not be read (its state is unknown). */
  isUnreadable(id: string): boolean {
    return this.unreadable.has(id);
  }

  /**
   * Whether a snapshot of `id` at `version` would change anything: false for a deleted id (final)
   * and for an older version than the one held. Lets the caller skip decrypting stale records.
   */
  accepts(id: string, version: number): boolean {
    if (this.deleted.has(id)) return false;
    const held = this.byId.get(id)?.version ?? this.unreadable.get(id);
    return held === undefined || held === null || version >= held;
  }

  /** Active subscriptions of `accountId` subscribed to `type`. The array must not be modified. */
  match(accountId: string, type: EventType): readonly Route[] {
    const lists = this.byAccount.get(accountId);
    return lists ? lists[EVENT_INDEX[type]] : EMPTY;
  }

  /** Applies a subscription's latest state; an older version than the one held is ignored. */
  upsert(route: Route): ApplyResult {
    if (this.deleted.has(route.id)) return 'stale';
    const previous = this.byId.get(route.id);
    if (previous && route.version < previous.version) return 'stale';
    const unreadableVersion = this.unreadable.get(route.id);
    if (!previous && unreadableVersion != null && route.version < unreadableVersion) return 'stale';
    this.unreadable.delete(route.id);
    if (previous) this.unindex(previous);
    this.byId.set(route.id, route);
    this.index(route);
    return previous ? 'updated' : 'added';
  }

  /**
   * Tombstone (the subscription was deleted: final), or with `tombstone: false` a record that must
   * no longer be trusted (the id becomes unreadable until a readable newer snapshot arrives).
   */
  remove(id: string, { tombstone = true, version = null }: { tombstone?: boolean; version?: number | null } = {}): ApplyResult {
    const previous = this.byId.get(id);
    if (tombstone) {
      this.deleted.set(id, previous?.version ?? this.unreadable.get(id) ?? this.deleted.get(id) ?? null);
      this.unreadable.delete(id);
    } else if (!this.deleted.has(id)) {
      this.unreadable.set(id, version ?? previous?.version ?? null);
    }
    if (!previous) return 'unknown';
    this.unindex(previous);
    this.byId.delete(id);
    return 'removed';
  }

  private index(route: Route): void {
    if (!route.active || route.eventMask === 0) return;
    let lists = this.byAccount.get(route.accountId);
    if (!lists) {
      lists = EVENT_TYPES.map(() => EMPTY);
      this.byAccount.set(route.accountId, lists);
    }
    for (const type of EVENT_TYPES) {
      if (route.eventMask & EVENT_BIT[type]) {
        const i = EVENT_INDEX[type];
        lists[i] = [...lists[i], route];
      }
    }
  }

  private unindex(route: Route): void {
    const lists = this.byAccount.get(route.accountId);
    if (!lists) return;
    let empty = true;
    for (let i = 0; i < lists.length; i++) {
      if (lists[i].includes(route)) {
        const next = lists[i].filter((r) => r !== route);
        lists[i] = next.length ? next : EMPTY;
      }
      if (lists[i].length) empty = false;
    }
    if (empty) this.byAccount.delete(route.accountId);
  }
}
