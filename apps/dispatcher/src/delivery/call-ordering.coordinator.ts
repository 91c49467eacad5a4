import { DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { retryWithBackoff } from '@odis/config';
import { CallOrderLanes, laneKeyOf, type LaneCounters } from './call-order-lanes.js';
import type { CallHoldStore } from './call-holds.js';
import type { Settlement } from './delivery-executor.js';

/** The `odis-parked` header of a delivery held behind an earlier one of its call (decision 0017). */
export const PARKED_BEHIND_CALL = 'call_order';

export type Turn = { kind: 'send'; token: number } | { kind: 'parked' };

export interface CallOrderingDeps {
  settleMs: number;
  /** Retries a failed produce until Kafka acknowledges (DurableSender). */
  sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  log: (message: string) => void;
  /** Logged as a warning (a hold store read that failed and is retried). */
  warn?: (message: string) => void;
  now?: () => number;
  /**
   * The durable holds (`webhooks.call-holds`): written when a lane becomes held, released when its
   * head ends, and read back for a partition before its first ordered delivery after every
   * (re)assignment. Without it holds live in memory only.
   */
  holds?: CallHoldStore;
}

export interface OrderingCounters extends LaneCounters {
  holdsWritten: number;
  holdsReleased: number;
  holdsRestored: number;
  holdLoads: number;
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
  private epochOf: () => number = () => 0;
  /** Partition → the assignment epoch its holds were read back at. */
  private readonly loaded = new Map<number, number>();
  private readonly loading = new Map<number, Promise<void>>();
  private batch: { partitions: Set<number>; done: Promise<void> } | null = null;
  /** Lanes with a hold record in the store → their partition. */
  private readonly durable = new Map<string, number>();
  private readonly holdWrites = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly holdStats = { holdsWritten: 0, holdsReleased: 0, holdsRestored: 0, holdLoads: 0 };

  constructor(private readonly deps: CallOrderingDeps) {
    this.lanes = new CallOrderLanes(deps.settleMs);
    this.now = deps.now ?? Date.now;
  }

  /** The delivery consumer's assignment epoch (changes on every rebalance): holds are read back when it moved. */
  attachAssignmentEpoch(epoch: () => number): void {
    this.epochOf = epoch;
  }

  /** `partition`: the `webhooks.deliveries` partition the job was read from (its holds live on the same number). */
  async admit(job: DeliveryJob, partition?: number): Promise<Turn> {
    if (this.deps.holds && partition !== undefined) await this.ensureLoaded(partition);
    const arrival = this.lanes.arrive(job, this.now());
    if (arrival.kind === 'park') {
      await this.park(job, [job], arrival.topic, arrival.dueAt);
      return { kind: 'parked' };
    }
    const turn = new Promise<Turn>((resolve, reject) => this.waiters.set(arrival.token, { resolve, reject }));
    this.pump();
    return turn;
  }

  async finish(token: number, job: DeliveryJob, settlement: Settlement, partition?: number): Promise<void> {
    const store = partition !== undefined ? this.deps.holds : undefined;
    if (store) await this.loading.get(partition!);
    const result = this.lanes.finish(token, job, settlement);
    if (result.released) this.deps.log(result.released);
    try {
      if (store) {
        // The hold (or its release) is acknowledged before the head's message counts as done: a
        // crash before that re-reads the head (uncommitted), whose turn writes it again.
        const key = laneKeyOf(job);
        const hold = this.lanes.holdOf(job);
        if (settlement.kind === 'waiting' && hold?.deliveryId === job.delivery_id) {
          this.durable.set(key, partition!);
          this.holdStats.holdsWritten++;
          await this.chainWrite(partition!, () => store.write(partition!, job.subscription_id, job.order_key!, hold));
        } else if (settlement.kind !== 'waiting' && this.durable.has(key)) {
          this.durable.delete(key);
          this.holdStats.holdsReleased++;
          await this.chainWrite(partition!, () => store.release(partition!, job.subscription_id, job.order_key!));
        }
      }
      if (result.park) {
        const { entries, topic, dueAt } = result.park;
        await this.park(job, entries.map((e) => e.job), topic, dueAt);
        // Their handlers wake only once their park records are acknowledged.
        for (const { token } of entries) this.wake(token, { kind: 'parked' });
      }
    } catch (err) {
      // Not written or not parked (shutting down): the messages behind must not count as done.
      for (const { token } of result.park?.entries ?? []) this.fail(token, err);
      throw err;
    }
    this.pump();
  }

  abandon(token: number, job: DeliveryJob): void {
    this.lanes.abandon(token, job);
    this.pump();
  }

  counters(): OrderingCounters {
    return { ...this.lanes.counters(), ...this.holdStats };
  }

  close(): void {
    this.abort.abort();
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

  private chainWrite(partition: number, write: () => Promise<void>): Promise<void> {
    const previous = this.holdWrites.get(partition) ?? Promise.resolve();
    const sent = previous.then(write);
    const tail = sent.catch(() => undefined);
    this.holdWrites.set(partition, tail);
    void tail.then(() => {
      if (this.holdWrites.get(partition) === tail) this.holdWrites.delete(partition);
    });
    return sent;
  }

  /**
   * Reads back the holds of a partition once per assignment epoch (its previous owner, or this
   * replica before a restart, may have held calls). Partitions asked for within a few ms share one
   * read of the topic.
   */
  private ensureLoaded(partition: number): Promise<void> {
    if (this.loaded.get(partition) === this.epochOf()) return Promise.resolve();
    const pending = this.loading.get(partition);
    if (pending) return pending;
    if (!this.batch) {
      const partitions = new Set<number>();
      const run = new Promise<void>((resolve) => setTimeout(resolve, 10)).then(() => {
        this.batch = null;
        return this.loadHolds([...partitions]);
      });
      const done: Promise<void> = run.finally(() => {
        for (const p of partitions) if (this.loading.get(p) === done) this.loading.delete(p);
      });
      this.batch = { partitions, done };
    }
    this.batch.partitions.add(partition);
    const done = this.batch.done;
    this.loading.set(partition, done);
    return done;
  }

  private async loadHolds(partitions: number[]): Promise<void> {
    const store = this.deps.holds!;
    // Writes of these partitions still on their way are read back too.
    await Promise.all(partitions.map((p) => this.holdWrites.get(p)));
    const epoch = this.epochOf();
    const byPartition = await retryWithBackoff(() => store.load(partitions), {
      signal: this.abort.signal,
      initialMs: 200,
      maxMs: 5_000,
      onError: (err, attempt, wait) => (this.deps.warn ?? this.deps.log)(`cannot read the call holds (attempt ${attempt}): ${(err as Error).message}; retrying in ${wait} ms`),
    });
    this.holdStats.holdLoads++;
    const now = this.now();
    for (const p of partitions) {
      const stored = byPartition.get(p) ?? [];
      const keys = new Set<string>();
      for (const { webhookId, callId, hold } of stored) {
        const key = laneKeyOf({ subscription_id: webhookId, order_key: callId });
        keys.add(key);
        this.durable.set(key, p);
        this.lanes.restoreHold(webhookId, callId, hold, now);
        this.holdStats.holdsRestored++;
      }
      // Holds of this partition the store no longer has (released by another owner meanwhile).
      for (const [key, part] of this.durable) {
        if (part === p && !keys.has(key)) {
          this.durable.delete(key);
          this.lanes.clearHold(key);
        }
      }
      this.loaded.set(p, epoch);
    }
    if (stored(byPartition) > 0) this.deps.log(`read back ${stored(byPartition)} held calls of partitions ${partitions.join(', ')}`);
    this.pump();
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

function stored(byPartition: Map<number, unknown[]>): number {
  let n = 0;
  for (const holds of byPartition.values()) n += holds.length;
  return n;
}
