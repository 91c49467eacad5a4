import { Logger } from '@nestjs/common';
import { hostname } from 'node:os';
import type pg from 'pg';
import { PgListener } from '@odis/persistence';
import { odisMetrics, PollingLoop } from '@odis/platform';
import { OUTBOX_CHANNEL } from '../subscription.store.js';
import { fenceDecision } from './outbox.fencing.js';

/** The part of the Kafka producer the relay needs. */
export interface OutboxPublisher {
  send(topic: string, messages: { key: string; value: string | null }[]): Promise<unknown>;
}

export interface OutboxRelayOptions {
  databaseUrl: string;
  /** Safety-net poll (ms): a NOTIFY from the writing transaction wakes the relay at once. */
  pollIntervalMs: number;
  /** How often a standby relay tries to take the leadership (ms); bounds a takeover after the leader died. Default 10 000. */
  standbyRetryMs?: number;
  batchSize?: number;
  /** Advisory lock key: one relay at a time across replicas, so order per subscription holds. */
  lockKey?: number;
  /** Longest one publish may take (ms); a relay taking over waits out the previous leader's (see outbox.fencing.ts). Default 60 000. */
  fencingWindowMs?: number;
  /** Name of this relay in `outbox_relay_lease.holder` (host:pid by default). */
  holder?: string;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  payload: string | null;
}

/**
 * Publishes the outbox to Kafka in id order (so per subscription in version order), then deletes
 * what was acknowledged. One leader at a time (advisory lock), fenced before every publish (see
 * outbox.fencing.ts), so a relay that lost leadership never publishes a stale snapshot after the
 * new leader's records (e.g. after a tombstone). A crash between publish and delete republishes the same snapshots (harmless
 * on a compacted changelog); a crash before publish loses nothing: the rows wait for the next run.
 * Wakes on NOTIFY from the writing transaction, and polls as a fallback.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private client: pg.Client | null = null;
  private readonly listener: PgListener;
  private readonly loop: PollingLoop;
  private leader = false;
  private epoch: string | null = null;
  private takeoverFenceUntil = 0;
  private lastError: string | undefined;
  private removePendingGauge: (() => void) | undefined;
  published = 0;
  /** Times this relay found it had lost leadership before a publish (and did not publish). */
  fenced = 0;

  constructor(
    private readonly publisher: OutboxPublisher,
    private readonly options: OutboxRelayOptions,
  ) {
    this.loop = new PollingLoop({
      pass: () => this.pass(),
      idleMs: options.pollIntervalMs,
      errorBackoff: { initial: 200, max: 10_000 },
      onError: async (err, _failures, wait) => {
        this.lastError = (err as Error).message;
        this.logger.warn(`outbox relay: ${this.lastError}; retrying in ${wait} ms`);
        await this.disconnect();
      },
    });
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      channel: OUTBOX_CHANNEL,
      onWake: () => this.loop.wake(),
      onError: (err) => {
        this.lastError = err.message;
      },
    });
  }

  start(): void {
    this.loop.start();
    // Counted on scrape, by the leader only (standbys would count the same rows again).
    this.removePendingGauge ??= odisMetrics.outboxPending.addSource(async () => {
      if (!this.leader || !this.client) return [];
      const { rows } = await this.client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
      return [{ value: Number(rows[0]?.n ?? 0) }];
    });
  }

  async stop(): Promise<void> {
    this.removePendingGauge?.();
    this.removePendingGauge = undefined;
    await this.loop.stop();
    await this.disconnect();
  }

  health(): { ok: boolean; detail?: string } {
    if (!this.loop.isRunning) return { ok: false, detail: 'stopped' };
    if (this.lastError) return { ok: false, detail: this.lastError };
    if (!this.client) return { ok: false, detail: 'connecting' };
    if (!this.leader) return { ok: true, detail: 'standby' };
    const waiting = this.takeoverFenceUntil - Date.now();
    return { ok: true, detail: waiting > 0 ? `leader (epoch ${this.epoch}), waiting ${waiting} ms for the previous leader's fence` : `leader (epoch ${this.epoch})` };
  }

  private get lockKey(): number {
    return this.options.lockKey ?? 7_031_001;
  }

  private get windowMs(): number {
    return this.options.fencingWindowMs ?? 60_000;
  }

  /** Took the advisory lock: bump the epoch and learn until when the previous leader's publish may land. */
  private async takeLease(): Promise<void> {
    const { rows } = await this.client!.query<{ epoch: string; wait_ms: string | null }>(
      `INSERT INTO outbox_relay_lease (lock_key, epoch, holder, acquired_at) VALUES ($1, 1, $2, now())
       ON CONFLICT (lock_key) DO UPDATE SET epoch = outbox_relay_lease.epoch + 1, holder = $2, acquired_at = now()
       RETURNING epoch::text, ceil(greatest(0, extract(epoch FROM (sending_until - now())) * 1000))::text AS wait_ms`,
      [this.lockKey, this.options.holder ?? `${hostname()}:${process.pid}`],
    );
    this.epoch = rows[0].epoch;
    const waitMs = Number(rows[0].wait_ms ?? 0);
    this.takeoverFenceUntil = Date.now() + waitMs;
    if (waitMs > 0) this.logger.warn(`outbox relay took over (epoch ${this.epoch}) from a leader that may still be publishing: first publish in ${waitMs} ms`);
  }

  /**
   * The fence: succeeds (and opens a fencing window) only if this relay's epoch is still current and
   * its session still holds the advisory lock.
   */
  private async fence(): Promise<boolean> {
    const res = await this.client!.query(
      `UPDATE outbox_relay_lease SET sending_until = now() + $3 * interval '1 millisecond'
       WHERE lock_key = $1 AND epoch = $2
         AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                     AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)`,
      [this.lockKey, this.epoch, this.windowMs],
    );
    return res.rowCount === 1;
  }

  /** One pass: become the leader if nobody is, publish one batch; the wait before the next pass. */
  private async pass(): Promise<number | null> {
    await this.connect();
    if (!this.leader) {
      const res = await this.client!.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.options.lockKey ?? 7_031_001]);
      if (!res.rows[0].ok) return this.options.standbyRetryMs ?? 10_000;
      await this.takeLease();
      // Only now a leader (health, the pending gauge): before the lease, its epoch and fence are unknown.
      this.leader = true;
      this.logger.log(`outbox relay is the leader (epoch ${this.epoch})`);
    }
    const published = await this.publishBatch();
    this.lastError = undefined;
    return published > 0 ? 0 : null;
  }

  /** Publishes one batch; returns how many rows it published. */
  private async publishBatch(): Promise<number> {
    const early = this.takeoverFenceUntil - Date.now();
    if (early > 0) {
      await this.loop.sleep(early);
      return 0;
    }
    const { rows } = await this.client!.query<OutboxRow>(
      'SELECT id, topic, message_key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1',
      [this.options.batchSize ?? 500],
    );
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, { key: string; value: string | null }[]>();
    for (const row of rows) {
      const list = byTopic.get(row.topic) ?? [];
      list.push({ key: row.message_key, value: row.payload });
      byTopic.set(row.topic, list);
    }
    const decision = fenceDecision({ leaseHeld: await this.fence(), now: Date.now(), takeoverFenceUntil: this.takeoverFenceUntil });
    if (decision.kind === 'lost') {
      this.fenced++;
      throw new Error(`lost leadership (epoch ${this.epoch} is no longer current or the lock is gone): not publishing`);
    }
    if (decision.kind === 'wait') return 0;
    const started = Date.now();
    const renew = setInterval(() => void this.fence().catch(() => undefined), Math.max(50, Math.floor(this.windowMs / 3)));
    let settled: PromiseSettledResult<unknown>[];
    try {
      settled = await Promise.allSettled([...byTopic].map(([topic, messages]) => this.publisher.send(topic, messages)));
    } finally {
      clearInterval(renew);
    }
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Nothing is in flight any more: close the window so a retry (by this relay or another) does not wait it out.
      await this.client!.query('UPDATE outbox_relay_lease SET sending_until = NULL WHERE lock_key = $1 AND epoch = $2', [this.lockKey, this.epoch]).catch(() => undefined);
      throw failed.reason;
    }
    if (Date.now() - started > this.windowMs) this.logger.error(`an outbox publish took ${Date.now() - started} ms, longer than the fencing window (${this.windowMs} ms)`);
    // Close the fencing window and delete what was acknowledged, only while still the leader (a new
    // leader republishes the rows otherwise: harmless on a compacted changelog).
    await this.client!.query(
      `WITH fence AS (UPDATE outbox_relay_lease SET sending_until = NULL WHERE lock_key = $2 AND epoch = $3 RETURNING 1)
       DELETE FROM outbox WHERE id = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM fence)`,
      [rows.map((r) => r.id), this.lockKey, this.epoch],
    );
    this.published += rows.length;
    return rows.length;
  }

  private async connect(): Promise<void> {
    if (this.client && this.listener.connected) return;
    if (this.client) await this.disconnect(); // the listener lost its connection: the lock went with it
    this.client = await this.listener.connect();
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leader = false;
    this.epoch = null;
    this.takeoverFenceUntil = 0;
    if (client) await this.listener.close();
  }

}
