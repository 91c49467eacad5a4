/**
 * Contiguous-prefix bookkeeping for one topic-partition.
 *
 * Messages of a partition may be processed concurrently and finish in any order, but a Kafka commit
 * says "everything before this offset is done". The tracker records every offset handed to a
 * handler (in fetch order, strictly increasing, gaps allowed: compaction and transaction markers
 * leave holes) and which of them are settled; {@link nextCommitOffset} is one past the last offset
 * of the settled prefix, i.e. the value to commit. An unsettled offset (in flight, deferred,
 * abandoned) holds the prefix back no matter how many later offsets are settled.
 */
export class PartitionOffsetTracker {
  /** Tracked offsets not yet popped off the prefix, ascending. `head` indexes the first live one. */
  private offsets: bigint[] = [];
  private settled: boolean[] = [];
  private head = 0;
  private lastTracked: bigint | null = null;
  /** Last offset of the settled prefix (the highest offset popped), or null. */
  private prefixEnd: bigint | null = null;
  private committed: bigint | null = null;
  private unsettled = 0;

  /** Registers an offset handed to a handler. Offsets must be strictly increasing. */
  track(offset: string | bigint): void {
    const o = toOffset(offset);
    if (this.lastTracked !== null && o <= this.lastTracked) {
      throw new RangeError(`offset ${o} tracked out of order (last tracked ${this.lastTracked})`);
    }
    this.offsets.push(o);
    this.settled.push(false);
    this.lastTracked = o;
    this.unsettled++;
  }

  /**
   * Marks a tracked offset as settled (done or dead-lettered). Returns true when the settled prefix
   * advanced, i.e. there is something new to commit.
   */
  settle(offset: string | bigint): boolean {
    const o = toOffset(offset);
    const index = this.indexOf(o);
    if (index < 0) {
      // Already popped off the settled prefix: settling twice is harmless.
      if (this.prefixEnd !== null && o <= this.prefixEnd) return false;
      throw new RangeError(`offset ${o} is not tracked`);
    }
    if (this.settled[index]) return false;
    this.settled[index] = true;
    this.unsettled--;
    let advanced = false;
    while (this.head < this.offsets.length && this.settled[this.head]) {
      this.prefixEnd = this.offsets[this.head];
      this.head++;
      advanced = true;
    }
    this.compact();
    return advanced;
  }

  /** Whether the offset is tracked and not settled. */
  isPending(offset: string | bigint): boolean {
    const index = this.indexOf(toOffset(offset));
    return index >= 0 && !this.settled[index];
  }

  /** The offset to commit (one past the settled prefix), or null when nothing is settled yet. */
  nextCommitOffset(): string | null {
    return this.prefixEnd === null ? null : (this.prefixEnd + 1n).toString();
  }

  /** Last offset of the settled prefix (what kafkajs' `resolveOffset` takes), or null. */
  lastSettledInPrefix(): string | null {
    return this.prefixEnd === null ? null : this.prefixEnd.toString();
  }

  /** The first tracked offset that is not settled, or null when every tracked offset is. */
  firstUnsettled(): string | null {
    return this.head < this.offsets.length ? this.offsets[this.head].toString() : null;
  }

  /** True when the settled prefix moved past what was last reported committed. */
  hasUncommitted(): boolean {
    return this.prefixEnd !== null && (this.committed === null || this.prefixEnd + 1n > this.committed);
  }

  /** Records that `offset` (a value from {@link nextCommitOffset}) was committed. */
  markCommitted(offset: string | bigint): void {
    const o = toOffset(offset);
    if (this.committed === null || o > this.committed) this.committed = o;
  }

  committedOffset(): string | null {
    return this.committed === null ? null : this.committed.toString();
  }

  /** Tracked offsets that are not settled yet. */
  get pendingCount(): number {
    return this.unsettled;
  }

  get trackedCount(): number {
    return this.offsets.length - this.head;
  }

  private indexOf(o: bigint): number {
    // Binary search over the live window: offsets are strictly increasing.
    let lo = this.head;
    let hi = this.offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.offsets[mid];
      if (v === o) return mid;
      if (v < o) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.settled = this.settled.slice(this.head);
      this.head = 0;
    }
  }
}

function toOffset(offset: string | bigint): bigint {
  if (typeof offset === 'bigint') {
    if (offset < 0n) throw new RangeError(`invalid offset ${offset}`);
    return offset;
  }
  if (!/^\d+$/.test(offset)) throw new RangeError(`invalid offset ${JSON.stringify(offset)}`);
  return BigInt(offset);
}
