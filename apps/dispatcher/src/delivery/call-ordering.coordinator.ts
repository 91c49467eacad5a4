import { DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { CallOrderLanes, laneKeyOf, type LaneCounters } from './call-order-lanes.js';
import type { Settlement } from './delivery-executor.js';

/** The `odis-parked` header of a delivery held behind an earlier one of its call (decision 0017). */
export const PARKED_BEHIND_CALL = 'call_order';

export type Turn = { kind: 'send'; token: number } | { kind: 'parked' };

export interface CallOrderingDeps {
  settleMs: number;
  /** Retries a failed produce until Kafka acknowledges (DurableSender). */
  sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  log: (message: string) => void;
  now?: () => number;
}

/**
 * Runs the lanes of {@link CallOrderLanes} for the delivery consumer: `admit` resolves when it is a
 * delivery's turn (`send`) or once it has been parked behind its call's held head (`parked`: the
 * park record is acknowledged by Kafka, so the message may count as done); `finish` reports the
 * turn's outcome and parks the deliveries that waited behind a head that now waits on the retry path.
 * Parks of one lane are written one after the other, so they keep their order on the tier partition.
 */
export class CallOrderingCoordinator {
  readonly lanes: CallOrderLanes;
  private readonly now: () => number;
  private readonly waiters = new Map<number, { resolve: (turn: Turn) => void; reject: (err: unknown) => void }>();
  private readonly parkChains = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: CallOrderingDeps) {
    this.lanes = new CallOrderLanes(deps.settleMs);
    this.now = deps.now ?? Date.now;
  }

  async admit(job: DeliveryJob): Promise<Turn> {
    const arrival = this.lanes.arrive(job, this.now());
    if (arrival.kind === 'park') {
      await this.park(job, [job], arrival.topic, arrival.dueAt);
      return { kind: 'parked' };
    }
    const turn = new Promise<Turn>((resolve, reject) => this.waiters.set(arrival.token, { resolve, reject }));
    this.pump();
    return turn;
  }

  async finish(token: number, job: DeliveryJob, settlement: Settlement): Promise<void> {
    const result = this.lanes.finish(token, job, settlement);
    if (result.released) this.deps.log(result.released);
    if (result.park) {
      const { entries, topic, dueAt } = result.park;
      try {
        await this.park(job, entries.map((e) => e.job), topic, dueAt);
      } catch (err) {
        // Not parked (shutting down): their messages must not count as done.
        for (const { token } of entries) this.fail(token, err);
        throw err;
      }
      // Their handlers wake only once their park records are acknowledged.
      for (const { token } of entries) this.wake(token, { kind: 'parked' });
    }
    this.pump();
  }

  abandon(token: number, job: DeliveryJob): void {
    this.lanes.abandon(token, job);
    this.pump();
  }

  counters(): LaneCounters {
    return this.lanes.counters();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private wake(token: number, turn: Turn): void {
    const waiter = this.waiters.get(token);
    this.waiters.delete(token);
    waiter?.resolve(turn);
  }

  private fail(token: number, err: unknown): void {
    const waiter = this.waiters.get(token);
    this.waiters.delete(token);
    waiter?.reject(err);
  }

  private park(laneOf: DeliveryJob, jobs: DeliveryJob[], topic: string, dueAt: number): Promise<void> {
    const messages = jobs.map((j) => {
      const encoded = DeliveryJobCodec.encode({ ...j, due_at: dueAt });
      return { ...encoded, headers: { ...encoded.headers, [KAFKA_HEADERS.parked]: PARKED_BEHIND_CALL } };
    });
    const key = laneKeyOf(laneOf);
    const previous = this.parkChains.get(key) ?? Promise.resolve();
    const sent = previous.then(() => this.deps.sendDurably(topic, messages));
    const tail = sent.catch(() => undefined);
    this.parkChains.set(key, tail);
    void tail.then(() => {
      if (this.parkChains.get(key) === tail) this.parkChains.delete(key);
    });
    return sent;
  }

  private pump(): void {
    const now = this.now();
    const { start, wakeAt } = this.lanes.next(now);
    for (const { token } of start) this.wake(token, { kind: 'send', token });
    if (wakeAt !== null && wakeAt < this.timerAt) {
      if (this.timer) clearTimeout(this.timer);
      this.timerAt = wakeAt;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      }, Math.max(0, wakeAt - now));
      this.timer.unref?.();
    }
  }
}
