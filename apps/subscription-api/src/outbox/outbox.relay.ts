import { Logger } from '@nestjs/common';
import pg from 'pg';
import { OUTBOX_CHANNEL } from '@odis/subscriptions';

/** The part of the Kafka producer the relay needs. */
export interface OutboxPublisher {
  send(topic: string, messages: { key: string; value: string | null }[]): Promise<unknown>;
}

export interface OutboxRelayOptions {
  databaseUrl: string;
  pollIntervalMs: number;
  batchSize?: number;
  /** Advisory lock key: one relay at a time across replicas, so order per subscription holds. */
  lockKey?: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  payload: string | null;
}

/**
 * Publishes the outbox to Kafka in id order (so per subscription in version order), then deletes
 * what was acknowledged. A crash between publish and delete republishes the same snapshots (harmless
 * on a compacted changelog); a crash before publish loses nothing: the rows wait for the next run.
 * Wakes on NOTIFY from the writing transaction, and polls as a fallback.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private client: pg.Client | null = null;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private leader = false;
  private lastError: string | undefined;
  published = 0;

  constructor(
    private readonly publisher: OutboxPublisher,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  health(): { ok: boolean; detail?: string } {
    if (!this.running) return { ok: false, detail: 'stopped' };
    if (this.lastError) return { ok: false, detail: this.lastError };
    if (!this.client) return { ok: false, detail: 'connecting' };
    return { ok: true, detail: this.leader ? 'leader' : 'standby' };
  }

  private async run(): Promise<void> {
    let backoff = 200;
    while (this.running) {
      try {
        await this.connect();
        if (!this.leader) {
          const res = await this.client!.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.options.lockKey ?? 7_031_001]);
          this.leader = res.rows[0].ok;
          if (!this.leader) {
            await this.sleep(2000);
            continue;
          }
          this.logger.log('outbox relay is the leader');
        }
        const published = await this.publishBatch();
        this.lastError = undefined;
        backoff = 200;
        if (published === 0) await this.sleep(this.options.pollIntervalMs);
      } catch (err) {
        this.lastError = (err as Error).message;
        this.logger.warn(`outbox relay: ${this.lastError}; retrying in ${backoff} ms`);
        await this.disconnect();
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
    await this.disconnect();
  }

  /** Publishes one batch; returns how many rows it published. */
  private async publishBatch(): Promise<number> {
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
    await Promise.all([...byTopic].map(([topic, messages]) => this.publisher.send(topic, messages)));
    await this.client!.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
    this.published += rows.length;
    return rows.length;
  }

  private async connect(): Promise<void> {
    if (this.client) return;
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on('error', (err) => {
      this.lastError = err.message;
      this.wake?.();
    });
    await client.connect();
    client.on('notification', () => this.wake?.());
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.client = client;
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leader = false;
    if (client) await client.end().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}
