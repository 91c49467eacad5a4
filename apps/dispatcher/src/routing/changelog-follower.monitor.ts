/**
 * Health of the follower of `webhooks.subscriptions` (plain logic, the service feeds it): the
 * follower is unhealthy when it is not running, when it has not reached, within `maxLagMs`, an end
 * offset the topic had (a sample of the end offsets taken by a periodic probe), or when the end
 * offsets could not be read for longer than `maxLagMs`.
 *
 * Comparing with samples of the end offsets (rather than "position < end now") keeps a steadily
 * written changelog healthy as long as each write is applied within the bound.
 */
export interface FollowerHealth {
  ok: boolean;
  detail: string;
}

interface EndSample {
  at: number;
  ends: Map<number, bigint>;
}

export class ChangelogFollowerMonitor {
  private readonly positions = new Map<number, bigint>();
  private samples: EndSample[] = [];
  private lastProbeOkAt: number | null = null;
  private lastProbeError: string | null = null;

  constructor(
    private readonly maxLagMs: number,
    private readonly maxSamples = 1_000,
  ) {}

  /** The follower applied the record at `offset` of `partition`. */
  delivered(partition: number, offset: string | bigint): void {
    const next = BigInt(offset) + 1n;
    const current = this.positions.get(partition);
    if (current === undefined || next > current) this.positions.set(partition, next);
  }

  /** A probe read the topic's end offsets (high watermarks of the partitions that hold records). */
  observeEnds(ends: Map<number, bigint>, now: number): void {
    this.lastProbeOkAt = now;
    this.lastProbeError = null;
    this.prune();
    const last = this.samples[this.samples.length - 1];
    if (!this.reached(ends) && !(last && sameEnds(last.ends, ends))) {
      this.samples.push({ at: now, ends });
      if (this.samples.length > this.maxSamples) this.samples.shift();
    }
  }

  /** A probe failed (e.g. Kafka unreachable). */
  probeFailed(message: string, now: number): void {
    this.lastProbeError = message;
    if (this.lastProbeOkAt === null) this.lastProbeOkAt = now;
  }

  /** Records the follower still has to apply to reach the newest end offsets seen. */
  get behind(): bigint {
    const last = this.samples[this.samples.length - 1];
    if (!last) return 0n;
    let n = 0n;
    for (const [p, end] of last.ends) {
      const pos = this.positions.get(p) ?? 0n;
      if (end > pos) n += end - pos;
    }
    return n;
  }

  health(now: number, running: boolean): FollowerHealth {
    if (!running) return { ok: false, detail: 'follower is not running' };
    this.prune();
    const oldest = this.samples[0];
    if (oldest && now - oldest.at > this.maxLagMs) {
      return { ok: false, detail: `follower is ${this.behind} records behind the end for ${Math.round((now - oldest.at) / 1000)} s (bound ${this.maxLagMs} ms)` };
    }
    if (this.lastProbeError !== null && this.lastProbeOkAt !== null && now - this.lastProbeOkAt > this.maxLagMs) {
      return { ok: false, detail: `cannot read the end offsets for ${Math.round((now - this.lastProbeOkAt) / 1000)} s: ${this.lastProbeError}` };
    }
    const behind = this.behind;
    return { ok: true, detail: behind > 0n ? `following, ${behind} records to apply` : 'following, at the end' };
  }

  private reached(ends: Map<number, bigint>): boolean {
    for (const [p, end] of ends) if ((this.positions.get(p) ?? 0n) < end) return false;
    return true;
  }

  private prune(): void {
    while (this.samples.length && this.reached(this.samples[0].ends)) this.samples.shift();
  }
}

function sameEnds(a: Map<number, bigint>, b: Map<number, bigint>): boolean {
  if (a.size !== b.size) return false;
  for (const [p, v] of a) if (b.get(p) !== v) return false;
  return true;
}
