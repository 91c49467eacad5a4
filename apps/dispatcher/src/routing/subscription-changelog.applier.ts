import { decodeMessage, SecretBox, subscriptionSnapshot } from '@odis/contracts';
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
  /** Subscriptions whose latest snapshot's secret does not decrypt with any configured key (now). */
  undecryptable: number;
}

/**
 * Applies `webhooks.subscriptions` records to the routing table. A tombstone (null value) deletes.
 * A record that cannot be decoded (not JSON, wrong shape, URL unusable, secret that does not
 * decrypt) is reported and skipped, never thrown; if it names a subscription the table holds, that
 * subscription is dropped from routing (fail closed: better no delivery than one to a webhook whose
 * current state we cannot read, e.g. one just disabled or moved).
 *
 * A snapshot is checked against the table before its secret is decrypted: a stale version or any
 * snapshot of a deleted id (deletes are final) is ignored without touching the route. A secret that
 * does not decrypt (a key missing from SECRET_ENCRYPTION_KEY_PREVIOUS) is counted per subscription
 * in `undecryptable` until a readable snapshot or a tombstone of it arrives: the dispatcher reports
 * it on /ready, never a silent drop.
 */
export class SubscriptionChangelogApplier {
  private readonly counts = { applied: 0, deleted: 0, stale: 0, skipped: 0 };
  private readonly pool = new StringPool();
  /** Subscription id → id of the key its latest snapshot's secret was sealed with (not configured). */
  private readonly undecryptableIds = new Map<string, string>();

  constructor(
    private readonly table: RoutingTable,
    private readonly decrypt: (sealed: string, context: string) => string,
    private readonly onSkip: (reason: string, record: ChangelogRecord) => void = () => undefined,
  ) {}

  get stats(): ChangelogStats {
    return { ...this.counts, undecryptable: this.undecryptableIds.size };
  }

  /** Subscriptions whose current secret does not decrypt (first `limit` ids, and the key ids they need). */
  undecryptable(limit = 5): { count: number; ids: string[]; keyIds: string[] } {
    const ids = [...this.undecryptableIds.keys()].slice(0, limit);
    return { count: this.undecryptableIds.size, ids, keyIds: [...new Set(this.undecryptableIds.values())].slice(0, limit) };
  }

  apply(record: ChangelogRecord): ChangelogApplyResult {
    const key = record.key?.toString('utf8') ?? null;
    if (record.value === null || record.value.length === 0) {
      if (!key) return this.skip('tombstone without a key', record, null);
      this.table.remove(key);
      this.undecryptableIds.delete(key);
      this.counts.deleted++;
      return { kind: 'deleted' };
    }
    const decoded = decodeMessage(subscriptionSnapshot, record.value);
    if (!decoded.ok) return this.skip(`undecodable snapshot: ${decoded.reason}`, record, key && !this.table.isDeleted(key) ? key : null);
    const snapshot = decoded.value;
    if (key !== null && key !== snapshot.id) return this.skip(`snapshot id ${snapshot.id} does not match its key ${key}`, record, null);
    if (!this.table.accepts(snapshot.id, snapshot.version)) return this.stale();
    const built = routeFromSnapshot(snapshot, this.decrypt, this.pool);
    if (!built.ok) {
      if (built.cause === 'secret') this.undecryptableIds.set(snapshot.id, SecretBox.sealedKeyId(snapshot.secret_encrypted) ?? 'not a SecretBox ciphertext');
      else this.undecryptableIds.delete(snapshot.id);
      return this.skip(built.reason, record, snapshot.id, snapshot.version);
    }
    const result = this.table.upsert(built.route);
    if (result === 'stale') return this.stale();
    this.undecryptableIds.delete(snapshot.id);
    this.counts.applied++;
    return { kind: 'upserted' };
  }

  private stale(): ChangelogApplyResult {
    this.counts.stale++;
    return { kind: 'stale' };
  }

  private skip(reason: string, record: ChangelogRecord, dropId: string | null, version: number | null = null): ChangelogApplyResult {
    this.counts.skipped++;
    if (dropId) this.table.remove(dropId, { tombstone: false, version });
    this.onSkip(reason, record);
    return { kind: 'skipped', reason };
  }
}
