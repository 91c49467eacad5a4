/** A steady stream of telephony events POSTed to event-ingest in batches; what got a 202 is recorded. */
import { SEED_EXAMPLES } from '@odis/contracts';
import type { AcceptedEvent } from './reconciler.js';

const TYPES = ['call.started', 'call.ended', 'appointment.created'] as const;

export interface TrafficOptions {
  ingestUrl: string;
  token: string;
  accounts: readonly string[];
  /** Events per second over all accounts. */
  ratePerSecond: number;
  /** Prefix of the producer ids (unique per run). */
  tag: string;
}

export class TrafficDriver {
  accepted: AcceptedEvent[] = [];
  rejected = 0;
  private seq = 0;
  private running: Promise<void> | undefined;
  private stopRequested = false;

  constructor(private readonly o: TrafficOptions) {}

  /** Start sending; `take()` hands over (and clears) what was accepted since the last call. */
  start(): void {
    if (this.running) return;
    this.stopRequested = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.running;
    this.running = undefined;
  }

  take(): { accepted: AcceptedEvent[]; rejected: number } {
    const out = { accepted: this.accepted, rejected: this.rejected };
    this.accepted = [];
    this.rejected = 0;
    return out;
  }

  private event(i: number) {
    // Every account gets every type: the account turns with each event, the type with each round of accounts.
    const n = this.o.accounts.length;
    const accountId = this.o.accounts[i % n]!;
    const type = TYPES[Math.floor(i / n) % TYPES.length]!;
    const seed = SEED_EXAMPLES[type];
    return { ...seed, account_id: accountId, id: `${this.o.tag}-${i}`, timestamp: new Date().toISOString() };
  }

  private async loop(): Promise<void> {
    const tickMs = 200;
    const perTick = Math.max(1, Math.round((this.o.ratePerSecond * tickMs) / 1000));
    while (!this.stopRequested) {
      const started = Date.now();
      const batch = Array.from({ length: perTick }, () => this.event(this.seq++));
      try {
        const res = await fetch(`${this.o.ingestUrl}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(batch),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await res.json().catch(() => undefined)) as { data?: Array<{ status: number; event_id?: string }> } | undefined;
        const now = Date.now();
        batch.forEach((e, i) => {
          const item = body?.data?.[i];
          if ((res.status === 200 || res.status === 202) && item?.status === 202 && item.event_id) {
            this.accepted.push({ eventId: item.event_id, accountId: e.account_id, acceptedAt: now });
          } else this.rejected++;
        });
      } catch {
        this.rejected += batch.length;
      }
      const wait = tickMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}
