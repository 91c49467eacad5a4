import type { Consumer, EachBatchPayload } from 'kafkajs';
import { describeError } from './message.types.js';
import { PartitionOffsetTracker } from './partition-offset-tracker.js';
import { tpKey, type ProcessResult, type RunnerCore, type RunnerEngine } from './runner-core.js';

/** One partition's progress across batches, within one generation. */
interface PipeState {
  key: string;
  topic: string;
  partition: number;
  epoch: number;
  tracker: PartitionOffsetTracker;
  inFlight: number;
  lastStarted: bigint | null;
  backpressured: boolean;
  deferral: { offset: bigint; untilMs: number } | null;
  abort: AbortController;
  lastCommitAt: number;
  committing: Promise<void> | null;
  commitAgain: boolean;
  drained: Array<() => void>;
  slotWaiters: Set<() => void>;
}

function newPipe(topic: string, partition: number, epoch: number): PipeState {
  return {
    key: tpKey(topic, partition),
    topic,
    partition,
    epoch,
    tracker: new PartitionOffsetTracker(),
    inFlight: 0,
    lastStarted: null,
    backpressured: false,
    deferral: null,
    abort: new AbortController(),
    lastCommitAt: 0,
    committing: null,
    commitAgain: false,
    drained: [],
    slotWaiters: new Set(),
  };
}

/** How long a batch waits for a free slot of a full partition before pausing it. */
const PIPE_SLOT_WAIT_MS = 200;

/**
 * Pipelined mode (`pipelined: true`): a fetched batch returns as soon as its messages are
 * *started* (kafkajs' `resolveOffset` then means "fetched up to"); up to `partitionConcurrency`
 * messages of a partition are in flight across batches, a full partition is paused until it drained
 * to half. Commits advance over each partition's settled prefix only, through the latest payload's
 * commit function, every `commitIntervalMs`. A `defer` pauses the partition at once and takes effect
 * once every message before the deferred one settled.
 */
export class PipelinedEngine implements RunnerEngine {
  /** Per-partition state living across batches (one generation). */
  private readonly pipes = new Map<string, PipeState>();
  /** Commits outside eachBatch go through the latest payload's commit function. */
  private commitFn: EachBatchPayload['commitOffsetsIfNecessary'] | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  /** A rebalance is finishing the generation's work: batches start nothing new meanwhile. */
  private revoking = false;

  constructor(private readonly core: RunnerCore) {}

  start(): void {
    if (this.core.commitIntervalMs > 0) {
      this.commitTimer = setInterval(() => {
        for (const st of this.pipes.values()) if (st.tracker.hasUncommitted()) void this.commitPipe(st);
      }, this.core.commitIntervalMs);
      this.commitTimer.unref?.();
    }
  }

  dropGeneration(consumer: Consumer, commit: boolean): void {
    this.dropPipes(consumer, commit);
  }

  /**
   * Every partition is revoked: start nothing new, let retry backoffs give up, wait (at most
   * `maxWaitMs`) for the running handlers, commit each pipe's settled prefix (the group accepts
   * commits of the old generation until every member rejoined, and this one rejoins after this),
   * then forget the pipes. What still runs after the wait is not committed: its next owner runs it
   * again.
   */
  async revoke(consumer: Consumer, maxWaitMs: number): Promise<void> {
    this.revoking = true;
    try {
      const pipes = [...this.pipes.values()];
      for (const pipe of pipes) pipe.abort.abort();
      const running = pipes.filter((pipe) => pipe.inFlight > 0);
      if (running.length > 0 && maxWaitMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(running.map((pipe) => new Promise<void>((wake) => pipe.drained.push(wake)))),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs))),
        ]);
        clearTimeout(timer);
      }
      const stuck = pipes.reduce((n, p) => n + p.inFlight, 0);
      if (stuck > 0) this.core.logger.warn(`rebalance: ${stuck} handler(s) still running after ${maxWaitMs} ms; their messages stay uncommitted`);
      await Promise.all(pipes.map((pipe) => this.commitPipe(pipe)));
      await Promise.all(pipes.map((pipe) => pipe.committing));
    } finally {
      this.dropPipes(consumer, false);
      this.revoking = false;
    }
  }

  /** Pipes are aborted by `drain` (after the pause), as before the split. */
  abortWork(): void {}

  async drain(consumer: Consumer | null): Promise<void> {
    if (consumer) await this.drainPipes(consumer);
    if (this.commitTimer) clearInterval(this.commitTimer);
  }

  async eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    this.core.noteFetched(topic, partition, batch.highWatermark, batch.messages[0]?.offset);
    this.commitFn = payload.commitOffsetsIfNecessary;
    if (this.core.stopping || this.revoking || !payload.isRunning() || payload.isStale()) return;
    let st = this.pipes.get(key);
    if (this.core.deferred.has(key) || st?.deferral || st?.backpressured) {
      // Fetched before the pause took effect: leave it unresolved, it is fetched again later.
      consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }
    if (!st) {
      st = newPipe(topic, partition, this.core.epoch);
      this.pipes.set(key, st);
    }
    const pipe = st;
    for (const message of batch.messages) {
      if (this.core.stopping || this.revoking || !payload.isRunning() || payload.isStale() || this.pipes.get(key) !== pipe) break;
      const offset = BigInt(message.offset);
      if (pipe.lastStarted !== null && offset <= pipe.lastStarted) continue; // started already
      if (pipe.inFlight >= this.core.partitionConcurrency) {
        // Full. Fast handlers free a slot within milliseconds: wait a little for one. If none frees
        // (slow handlers), pause this partition and return, so kafkajs can fetch for the others;
        // the rest of the batch is fetched again once the partition drained to half.
        if (await this.waitForSlot(pipe, PIPE_SLOT_WAIT_MS)) {
          if (this.core.stopping || !payload.isRunning() || payload.isStale() || this.pipes.get(key) !== pipe) break;
        }
      }
      if (pipe.inFlight >= this.core.partitionConcurrency) {
        pipe.backpressured = true;
        consumer.pause([{ topic, partitions: [partition] }]);
        break;
      }
      pipe.tracker.track(message.offset);
      pipe.inFlight++;
      pipe.lastStarted = offset;
      payload.resolveOffset(message.offset); // where the next fetch starts; commits are separate
      void this.core.processMessage(topic, partition, message, pipe.abort.signal).then(
        (result) => this.onPipeResult(consumer, pipe, message.offset, result),
        (error: unknown) => {
          this.core.logger.error(`${topic}[${partition}]@${message.offset}: ${describeError(error)}`);
          this.onPipeResult(consumer, pipe, message.offset, { kind: 'abandoned' });
        },
      );
    }
  }

  private waitForSlot(pipe: PipeState, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pipe.slotWaiters.delete(wake);
        resolve(false);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      pipe.slotWaiters.add(wake);
    });
  }

  private onPipeResult(consumer: Consumer, pipe: PipeState, offset: string, result: ProcessResult): void {
    pipe.inFlight--;
    if (pipe.inFlight === 0) for (const wake of pipe.drained.splice(0)) wake();
    for (const wake of pipe.slotWaiters) wake();
    pipe.slotWaiters.clear();
    if (this.pipes.get(pipe.key) !== pipe) return; // dropped (rebalance, deferral, stop): results no longer count
    try {
      if (result.kind === 'settled') {
        if (pipe.tracker.settle(offset) && Date.now() - pipe.lastCommitAt >= this.core.commitIntervalMs) void this.commitPipe(pipe);
      } else if (result.kind === 'defer') {
        const o = BigInt(offset);
        if (!pipe.deferral || o < pipe.deferral.offset) pipe.deferral = { offset: o, untilMs: result.untilMs };
        consumer.pause([{ topic: pipe.topic, partitions: [pipe.partition] }]);
      }
    } catch (error) {
      this.core.logger.error(`${pipe.topic}[${pipe.partition}]@${offset}: bookkeeping failed: ${describeError(error)}`);
    }
    if (pipe.deferral) {
      this.finishDeferralWhenReady(consumer, pipe);
    } else if (pipe.backpressured && pipe.inFlight <= Math.floor(this.core.partitionConcurrency / 2) && !this.core.stopping) {
      pipe.backpressured = false;
      consumer.resume([{ topic: pipe.topic, partitions: [pipe.partition] }]);
    }
  }

  /**
   * A deferral takes effect once every message before the deferred one has settled (so the commit
   * can cover them): then the pipe is dropped (later messages still running are handed over again
   * after the deferral), the prefix committed, and the partition seeked back and resumed at untilMs.
   */
  private finishDeferralWhenReady(consumer: Consumer, pipe: PipeState): void {
    const d = pipe.deferral!;
    if (pipe.tracker.firstUnsettled() !== d.offset.toString()) return;
    this.pipes.delete(pipe.key);
    pipe.abort.abort();
    void this.commitPipe(pipe);
    if (!this.core.stopping && pipe.epoch === this.core.epoch) this.core.deferPartition(consumer, pipe.topic, pipe.partition, d.offset.toString(), d.untilMs);
  }

  private commitPipe(pipe: PipeState): Promise<void> {
    if (!this.commitFn || !pipe.tracker.hasUncommitted() || pipe.epoch !== this.core.epoch) return Promise.resolve();
    if (pipe.committing) {
      pipe.commitAgain = true;
      return pipe.committing;
    }
    const commit = this.commitFn;
    const offset = pipe.tracker.nextCommitOffset()!;
    pipe.lastCommitAt = Date.now();
    pipe.committing = commit({ topics: [{ topic: pipe.topic, partitions: [{ partition: pipe.partition, offset }] }] })
      .then(() => pipe.tracker.markCommitted(offset))
      .catch((error: unknown) => this.core.logger.warn(`commit of ${pipe.topic}[${pipe.partition}]@${offset} failed: ${describeError(error)}`))
      .finally(() => {
        pipe.committing = null;
        if (pipe.commitAgain) {
          pipe.commitAgain = false;
          void this.commitPipe(pipe);
        }
      });
    return pipe.committing;
  }

  /**
   * Forgets every pipe (rebalance, crash): optionally commits what settled first, aborts retry
   * backoffs, and un-pauses partitions paused for backpressure or a deferral that had not taken
   * effect (kafkajs keeps pause state across rebalances).
   */
  private dropPipes(consumer: Consumer, commit: boolean): void {
    for (const pipe of this.pipes.values()) {
      if (commit) void this.commitPipe(pipe);
      pipe.abort.abort();
      if ((pipe.backpressured || pipe.deferral) && !this.core.deferred.has(pipe.key)) {
        consumer.resume([{ topic: pipe.topic, partitions: [pipe.partition] }]);
      }
    }
    this.pipes.clear();
  }

  /** stop() in pipelined mode: no new batches, retries give up, in-flight handlers finish (bounded), commit. */
  private async drainPipes(consumer: Consumer): Promise<void> {
    try {
      consumer.pause(this.core.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet
    }
    const pipes = [...this.pipes.values()];
    for (const pipe of pipes) pipe.abort.abort();
    const timeout = this.core.stopTimeoutSignal();
    try {
      await Promise.race([
        Promise.all(pipes.map((pipe) => (pipe.inFlight === 0 ? undefined : new Promise<void>((wake) => pipe.drained.push(wake))))),
        timeout.promise,
      ]);
    } finally {
      timeout.dispose();
    }
    const stuck = pipes.reduce((n, p) => n + p.inFlight, 0);
    if (stuck > 0) this.core.logger.warn(`${stuck} handler(s) still running after the stop timeout; their messages stay uncommitted`);
    await Promise.all(pipes.map((pipe) => this.commitPipe(pipe)));
    await Promise.all(pipes.map((pipe) => pipe.committing));
  }

}
