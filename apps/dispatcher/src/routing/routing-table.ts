import { EVENT_TYPES, type EventType } from '@odis/contracts';
import { EVENT_BIT, EVENT_INDEX, type Route } from './route.js';

const EMPTY: readonly Route[] = Object.freeze([]);

export type ApplyResult = 'added' | 'updated' | 'stale' | 'removed' | 'unknown';

/**
 * (account, event type) → active subscriptions, in memory, built from the subscription changelog.
 * Lookups are one Map get and an array index, allocation-free; an update replaces the few arrays of
 * one account (copy-on-write, so a fan-out holding an array never sees it change under it).
 * Also remembers ids it saw deleted (tombstones) so a queued delivery of a deleted webhook is skipped.
 */
export class RoutingTable {
  private readonly byId = new Map<string, Route>();
  /** account id → active routes per event type (index = EVENT_INDEX). */
  private readonly byAccount = new Map<string, (readonly Route[])[]>();
  private readonly deleted = new Set<string>();

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

  /** True when the changelog said this subscription was deleted (and it was not re-created). */
  isDeleted(id: string): boolean {
    return this.deleted.has(id);
  }

  /** Active subscriptions of `accountId` subscribed to `type`. The array must not be modified. */
  match(accountId: string, type: EventType): readonly Route[] {
    const lists = this.byAccount.get(accountId);
    return lists ? lists[EVENT_INDEX[type]] : EMPTY;
  }

  /** Applies a subscription's latest state; an older version than the one held is ignored. */
  upsert(route: Route): ApplyResult {
    const previous = this.byId.get(route.id);
    if (previous && route.version < previous.version) return 'stale';
    this.deleted.delete(route.id);
    if (previous) this.unindex(previous);
    this.byId.set(route.id, route);
    this.index(route);
    return previous ? 'updated' : 'added';
  }

  /** Tombstone (the subscription was deleted), or a record that must no longer be trusted. */
  remove(id: string, { tombstone = true }: { tombstone?: boolean } = {}): ApplyResult {
    if (tombstone) this.deleted.add(id);
    const previous = this.byId.get(id);
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
