import type { DeliveryJob } from '@odis/contracts';
import type { Settlement } from './delivery-executor.js';

/**
 * Per-call ordering (decision 0017), the pure state machine. One **lane** per (webhook, call_id):
 * the deliveries of a webhook with `ordering: "call"` whose event names that call. In a lane:
 * - at most one delivery is attempted at a time (the head), in ingest order (`event_received_at`,
 *   then `ingest_seq`, then arrival);
 * - a lane that was idle waits `settleMs` after its first arrival before it starts, so deliveries of
 *   the same call fanned out from the other per-type topics a moment later are sorted in front;
 * - a head that ends **waiting on the retry path** (failed with a retry to come, or parked) makes the
 *   lane **held**: every later delivery of the lane is parked on the same tier topic, due at the
 *   head's due time, written after the head's record on the same partition (key: webhook id), so the
 *   retry-scheduler hands them back behind the head;
 * - the head coming back (same delivery id) lifts the hold and goes first; success, a skip or
 *   **exhaustion** ends the hold and the later deliveries go on (exhaustion is logged: "released after
 *   exhaustion of …").
 * Other lanes (other calls, other webhooks) never wait for this one. Timing comes from the caller
 * (`now` arguments), so the spec needs no timers.
 */
export interface LaneHold {
  deliveryId: string;
  eventType: string;
  topic: string;
  dueAt: number;
}

export type Arrival = { kind: 'queued'; token: number } | { kind: 'park'; topic: string; dueAt: number; behind: string };

export interface Finish {
  /** Deliveries of the lane that must now be parked behind the new hold, in ingest order. */
  park: { entries: { token: number; job: DeliveryJob }[]; topic: string; dueAt: number } | null;
  /** Set when an exhausted head released its lane. */
  released: string | null;
}

interface Entry {
  token: number;
  job: DeliveryJob;
  at: number;
  seq: number;
}

interface Lane {
  key: string;
  waiting: Entry[];
  inFlight: Entry | null;
  hold: LaneHold | null;
  readyAt: number;
}

export interface LaneCounters {
  lanes: number;
  held: number;
  admitted: number;
  parkedBehind: number;
  releasedAfterExhaustion: number;
}

export function laneKeyOf(job: Pick<DeliveryJob, 'subscription_id' | 'order_key'>): string {
  return `${job.subscription_id}\u0000${job.order_key ?? ''}`;
}

/** Ingest order: the event's ingest time, then its ingest sequence. */
export function compareIngestOrder(a: DeliveryJob, b: DeliveryJob): number {
  const ta = a.event_received_at ? Date.parse(a.event_received_at) : 0;
  const tb = b.event_received_at ? Date.parse(b.event_received_at) : 0;
  if (ta !== tb) return (ta || 0) - (tb || 0);
  return (a.ingest_seq ?? 0) - (b.ingest_seq ?? 0);
}

export class CallOrderLanes {
  private readonly lanes = new Map<string, Lane>();
  private nextToken = 1;
  private arrivals = 0;
  readonly stats = { admitted: 0, parkedBehind: 0, releasedAfterExhaustion: 0 };

  constructor(private readonly settleMs: number) {}

  /** A delivery of an ordered webhook arrives: it queues in its lane, or is parked behind the lane's hold. */
  arrive(job: DeliveryJob, now: number): Arrival {
    const key = laneKeyOf(job);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, waiting: [], inFlight: null, hold: null, readyAt: now + this.settleMs };
      this.lanes.set(key, lane);
    } else if (!lane.inFlight && lane.waiting.length === 0 && !lane.hold) {
      lane.readyAt = now + this.settleMs;
    }
    if (lane.hold && lane.hold.deliveryId !== job.delivery_id) {
      this.stats.parkedBehind++;
      return { kind: 'park', topic: lane.hold.topic, dueAt: lane.hold.dueAt, behind: lane.hold.deliveryId };
    }
    const entry: Entry = { token: this.nextToken++, job, at: now, seq: this.arrivals++ };
    if (lane.hold) {
      // The head is back from the retry path: it goes first, without the settle wait.
      lane.hold = null;
      lane.waiting.unshift(entry);
      lane.readyAt = now;
      return { kind: 'queued', token: entry.token };
    }
    // Sorted insert (stable: equal positions keep their arrival order).
    let i = lane.waiting.length;
    while (i > 0 && compareIngestOrder(lane.waiting[i - 1].job, job) > 0) i--;
    lane.waiting.splice(i, 0, entry);
    return { kind: 'queued', token: entry.token };
  }

  /**
   * The deliveries to start now (one per lane whose turn it is) and when to ask again (the earliest
   * settle deadline of a lane still waiting), or null.
   */
  next(now: number): { start: { token: number; job: DeliveryJob }[]; wakeAt: number | null } {
    const start: { token: number; job: DeliveryJob }[] = [];
    let wakeAt: number | null = null;
    for (const lane of this.lanes.values()) {
      if (lane.inFlight || lane.hold || lane.waiting.length === 0) continue;
      if (now < lane.readyAt) {
        wakeAt = wakeAt === null ? lane.readyAt : Math.min(wakeAt, lane.readyAt);
        continue;
      }
      const entry = lane.waiting.shift()!;
      lane.inFlight = entry;
      this.stats.admitted++;
      start.push({ token: entry.token, job: entry.job });
    }
    return { start, wakeAt };
  }

  /** The head's turn ended; what the lane does next. */
  finish(token: number, job: DeliveryJob, settlement: Settlement): Finish {
    const lane = this.lanes.get(laneKeyOf(job));
    const none: Finish = { park: null, released: null };
    if (!lane || lane.inFlight?.token !== token) return none;
    lane.inFlight = null;
    let result = none;
    if (settlement.kind === 'waiting') {
      lane.hold = { deliveryId: job.delivery_id, eventType: job.event_type, topic: settlement.topic, dueAt: settlement.dueAt };
      if (lane.waiting.length > 0) {
        const entries = lane.waiting.map((e) => ({ token: e.token, job: e.job }));
        this.stats.parkedBehind += entries.length;
        lane.waiting = [];
        result = { park: { entries, topic: settlement.topic, dueAt: settlement.dueAt }, released: null };
      }
    } else if (settlement.kind === 'exhausted') {
      this.stats.releasedAfterExhaustion++;
      result = {
        park: null,
        released: `released after exhaustion of ${job.delivery_id} (${job.event_type}): later events of call ${job.order_key} go on for webhook ${job.subscription_id}`,
      };
    }
    this.dropIfIdle(lane);
    return result;
  }

  /** The head's turn ended without an outcome (the attempt threw, e.g. at shutdown): the lane goes on. */
  abandon(token: number, job: DeliveryJob): void {
    const lane = this.lanes.get(laneKeyOf(job));
    if (!lane) return;
    if (lane.inFlight?.token === token) lane.inFlight = null;
    else lane.waiting = lane.waiting.filter((e) => e.token !== token);
    this.dropIfIdle(lane);
  }

  /**
   * A hold read back from the durable store (a restart or a rebalance): later deliveries of the call
   * are parked behind its head as if this owner had seen the head fail. A lane whose head is being
   * attempted keeps its state (that head's turn decides).
   */
  restoreHold(webhookId: string, callId: string, hold: LaneHold, now: number): void {
    const key = laneKeyOf({ subscription_id: webhookId, order_key: callId });
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, waiting: [], inFlight: null, hold: null, readyAt: now };
      this.lanes.set(key, lane);
    }
    if (lane.inFlight) return;
    lane.hold = { ...hold };
  }

  /** A hold the durable store no longer has (released by another owner meanwhile): the lane goes on. */
  clearHold(key: string): void {
    const lane = this.lanes.get(key);
    if (!lane || lane.inFlight || !lane.hold) return;
    lane.hold = null;
    this.dropIfIdle(lane);
  }

  /** Tokens of the deliveries that wait in a lane (e.g. to release them at shutdown). */
  waitingTokens(): number[] {
    const tokens: number[] = [];
    for (const lane of this.lanes.values()) for (const e of lane.waiting) tokens.push(e.token);
    return tokens;
  }

  holdOf(job: Pick<DeliveryJob, 'subscription_id' | 'order_key'>): LaneHold | null {
    return this.lanes.get(laneKeyOf(job))?.hold ?? null;
  }

  counters(): LaneCounters {
    let held = 0;
    for (const lane of this.lanes.values()) if (lane.hold) held++;
    return { lanes: this.lanes.size, held, ...this.stats };
  }

  private dropIfIdle(lane: Lane): void {
    if (!lane.inFlight && !lane.hold && lane.waiting.length === 0) this.lanes.delete(lane.key);
  }
}
