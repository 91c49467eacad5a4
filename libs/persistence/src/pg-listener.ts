import pg from 'pg';

export interface PgListenerOptions {
  databaseUrl: string;
  /** The NOTIFY channel to LISTEN on (a plain identifier). */
  channel: string;
  /** A NOTIFY arrived, or the connection was lost (look at the table now; the next `connect()` reconnects). */
  onWake: () => void;
  /** The connection failed (after it was established). */
  onError?: (error: Error) => void;
}

/**
 * One dedicated Postgres connection that LISTENs on a channel, for loops that wake on NOTIFY and
 * poll only as a safety net (the outbox relay, the notification sender). `connect()` is idempotent
 * and cheap once connected: call it at the start of every pass, so a lost connection is re-made by
 * the next pass (a loss wakes the loop at once; while Postgres is away the pass fails and backs off).
 * The client is returned for callers that also need the session (the relay's advisory lock).
 */
export class PgListener {
  private client: pg.Client | null = null;

  constructor(private readonly options: PgListenerOptions) {}

  get connected(): boolean {
    return this.client !== null;
  }

  async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on('error', (err) => {
      if (this.client === client) this.client = null;
      void client.end().catch(() => undefined);
      this.options.onError?.(err);
      this.options.onWake();
    });
    try {
      await client.connect();
      client.on('notification', () => this.options.onWake());
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
