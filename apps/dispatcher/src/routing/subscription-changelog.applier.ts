import { decodeMessage, subscriptionSnapshot } from '@odis/contracts';
import type { RoutingTable } from './routing-table.js';
import { routeFromSnapshot, StringPool } from './route.js';

export interface ChangelogRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset?: string;
  partition?: number;
}

export type ChangelogApplyResult =
  | { kind: 'upserted' | 'stale' | 'deleted' }
  | { kind: 'skipped'; reason: string };

export interface ChangelogStats {
  applied: number;
  deleted: number;
  stale: number;
  skipped: number;
}

/**
 * Applies `webhooks.subscriptions` records to the routing table. A tombstone (null value) deletes.
 * A record that cannot be decoded (not JSON, wrong shape, URL unusable, secret that does not
 * decrypt) is reported and skipped, never thrown; if it names a subscription the table holds, that
 * subscription is dropped from routing (fail closed: better no delivery than one to a webhook whose
 * current state we cannot read, e.g. one just disabled or moved).
 */
export class SubscriptionChangelogApplier {
  readonly stats: ChangelogStats = { applied: 0, deleted: 0, stale: 0, skipped: 0 };
  private readonly pool = new StringPool();

  constructor(
    private readonly table: RoutingTable,
    private readonly decrypt: (sealed: string, context: string) => string,
    private readonly onSkip: (reason: string, record: ChangelogRecord) => void = () => undefined,
  ) {}

  apply(record: ChangelogRecord): ChangelogApplyResult {
    const key = record.key?.toString('utf8') ?? null;
    if (record.value === null || record.value.length === 0) {
      if (!key) return this.skip('tombstone without a key', record, null);
      this.table.remove(key);
      this.stats.deleted++;
      return { kind: 'deleted' };
    }
    const decoded = decodeMessage(subscriptionSnapshot, record.value);
    if (!decoded.ok) return this.skip(`undecodable snapshot: ${decoded.reason}`, record, key);
    const snapshot = decoded.value;
    if (key !== null && key !== snapshot.id) return this.skip(`snapshot id ${snapshot.id} does not match its key ${key}`, record, null);
    const built = routeFromSnapshot(snapshot, this.decrypt, this.pool);
    if (!built.ok) return this.skip(built.reason, record, snapshot.id);
    const result = this.table.upsert(built.route);
    if (result === 'stale') {
      this.stats.stale++;
      return { kind: 'stale' };
    }
    this.stats.applied++;
    return { kind: 'upserted' };
  }

  private skip(reason: string, record: ChangelogRecord, dropId: string | null): ChangelogApplyResult {
    this.stats.skipped++;
    if (dropId) this.table.remove(dropId, { tombstone: false });
    this.onSkip(reason, record);
    return { kind: 'skipped', reason };
  }
}
