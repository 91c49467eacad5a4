import type { Batch, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { sleep } from '@odis/config';
import { describeError } from './message.types.js';
import { PartitionOffsetTracker } from './partition-offset-tracker.js';
import { isRebalancingError, tpKey, type ProcessResult, type RunnerCore, type RunnerEngine } from './runner-core.js';

type HaltReason = 'defer' | 'abandoned' | 'rebalance';

interface ActiveBatch {
  abort: AbortController;
}

const HEARTBEAT_TICK_MS = 1_000;

/**
 * Default mode: a fetched batch is worked on (up to `partitionConcurrency` messages at once, in
 * offset order) and returns only once its in-flight handlers settled; kafkajs fetches again after
 * that. The settled prefix is committed at most every `commitIntervalMs` and when the batch ends;
 * a `defer` stops the batch, and once its in-flight messages settled the partition is paused and
 * seeked back (`RunnerCore.deferPartition`).
 */
export class BatchEngine implements RunnerEngine {
  private readonly activeBatches = new Set<ActiveBatch>();

  constructor(private readonly core: RunnerCore) {}

  start(): void {}

  /** Batches of an old generation notice it themselves (their epoch differs) and commit only what is still theirs. */
  dropGeneration(): void {}

  /** A batch holds its in-flight messages itself: it finishes them and commits before it returns. */
  async revoke(): Promise<void> {}

  abortWork(): void {
    for (const b of this.activeBatches) b.abort.abort();
  }

  /** kafkajs' disconnect waits for the running batches, which finish (bounded by stopTimeoutMs) and commit. */
  async drain(): Promise<void> {}

  async eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    this.core.noteFetched(topic, partition, batch.highWatermark, batch.messages[0]?.offset);
    if (this.core.stopping || !payload.isRunning() || payload.isStale()) return;
    if (this.core.deferred.has(key)) {
      // Fetched before the pause took effect (or after a kafkajs restart lost the pause state):
      // leave it unresolved; it is fetched again when the deferral ends.
      consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }

    const batchEpoch = this.core.epoch;
    const tracker = new PartitionOffsetTracker();
    const active: ActiveBatch = { abort: new AbortController() };
    this.activeBatches.add(active);
    const stopTimeout = this.core.stopTimeoutSignal();
    const inFlight = new Set<Promise<void>>();
    let halt: HaltReason | null = null;
    let deferral: { offset: bigint; untilMs: number } | null = null;
    let commitChain: Promise<void> = Promise.resolve();
    let commitQueued = false;
    let lastCommitAt = 0;
    let closed = false;

    const halted = () => halt !== null || this.core.stopping || !payload.isRunning() || payload.isStale() || batchEpoch !== this.core.epoch;
    const queueCommit = () => {
      if (commitQueued) return;
      commitQueued = true;
      commitChain = commitChain.then(async () => {
        commitQueued = false;
        lastCommitAt = Date.now();
        if (!closed) await this.commitSettled(payload, tracker, batchEpoch, false);
      });
    };
    const onResult = (offset: string, result: ProcessResult) => {
      if (closed) return; // finished after the stop timeout: this batch is over, nothing to record
      try {
        if (result.kind === 'settled') {
          if (tracker.settle(offset) && Date.now() - lastCommitAt >= this.core.commitIntervalMs) queueCommit();
        } else if (result.kind === 'defer') {
          const o = BigInt(offset);
          if (!deferral || o < deferral.offset) deferral = { offset: o, untilMs: result.untilMs };
          halt ??= 'defer';
        } else {
          halt ??= 'abandoned';
        }
      } catch (error) {
        this.core.logger.error(`${topic}[${partition}]@${offset}: bookkeeping failed: ${describeError(error)}`);
        halt ??= 'abandoned';
      }
    };

    const heartbeat = setInterval(() => {
      if (!closed && tracker.hasUncommitted() && Date.now() - lastCommitAt >= this.core.commitIntervalMs) queueCommit();
      payload.heartbeat().catch((error: unknown) => {
        if (isRebalancingError(error)) {
          halt ??= 'rebalance';
          active.abort.abort();
        } else {
          this.core.logger.debug?.(`heartbeat failed: ${describeError(error)}`);
        }
      });
    }, Math.max(50, Math.min(HEARTBEAT_TICK_MS, this.core.commitIntervalMs)));

    try {
      for (const message of batch.messages) {
        if (halted()) break;
        while (inFlight.size >= this.core.partitionConcurrency && !stopTimeout.passed) {
          await Promise.race([Promise.race(inFlight), stopTimeout.promise]);
        }
        if (halted()) break;
        tracker.track(message.offset);
        const tracked: Promise<void> = this.core.processMessage(topic, partition, message, active.abort.signal)
          .then((result) => onResult(message.offset, result))
          .finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      await Promise.race([Promise.all(inFlight), stopTimeout.promise]);
      if (inFlight.size > 0) {
        this.core.logger.warn(`${topic}[${partition}]: ${inFlight.size} handler(s) still running after the stop timeout; their messages stay uncommitted`);
      }
    } finally {
      closed = true;
      clearInterval(heartbeat);
      stopTimeout.dispose();
      this.activeBatches.delete(active);
    }

    await commitChain;
    await this.commitSettled(payload, tracker, batchEpoch, true);

    const d = deferral as { offset: bigint; untilMs: number } | null;
    if (d && !this.core.stopping && batchEpoch === this.core.epoch) {
      const from = tracker.firstUnsettled() ?? d.offset.toString();
      this.core.deferPartition(consumer, topic, partition, from, d.untilMs);
    }
  }

  /**
   * Resolves and commits the settled prefix of a batch. kafkajs' `resolveOffset` marks where the
   * next fetch starts; the explicit commit goes through the batch payload, which works while the
   * consumer is stopping (the public `consumer.commitOffsets` is a no-op by then).
   */
  private async commitSettled(payload: EachBatchPayload, tracker: PartitionOffsetTracker, batchEpoch: number, final: boolean): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    if (!tracker.hasUncommitted()) return;
    const sameGeneration = batchEpoch === this.core.epoch;
    if (!sameGeneration && !this.core.assignment.has(tpKey(topic, partition))) return; // lost it: not ours to commit
    const lastSettled = tracker.lastSettledInPrefix()!;
    let next = BigInt(tracker.nextCommitOffset()!);
    const last = lastMessage(batch);
    if (last && last.offset === lastSettled) {
      // Whole batch settled: move past trailing control records too, as kafkajs' resolveOffset does.
      const batchEnd = BigInt(batch.lastOffset()) + 1n;
      if (batchEnd > next) next = batchEnd;
    }
    if (sameGeneration) payload.resolveOffset(lastSettled);
    const offset = next.toString();
    for (let attempt = 1; attempt <= (final ? 3 : 1); attempt++) {
      try {
        await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
        tracker.markCommitted(offset);
        return;
      } catch (error) {
        const reason = describeError(error);
        if (isRebalancingError(error) || attempt === (final ? 3 : 1)) {
          this.core.logger.warn(`commit of ${topic}[${partition}]@${offset} failed: ${reason}`);
          return;
        }
        await sleep(100 * attempt);
      }
    }
  }
}

function lastMessage(batch: Batch): KafkaMessage | undefined {
  return batch.messages[batch.messages.length - 1];
}
