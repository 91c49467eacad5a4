interface Entry {
  deadline: number;
  settled: boolean;
  onTimeout: () => void;
  next: Entry | null;
}

/**
 * One timer for every pending publish of `POST /v1/events`, instead of a timer per request: all
 * waits have the same length, so deadlines come in the order they were added (a FIFO list). The
 * timer is armed for the oldest unsettled deadline only, and not at all when nothing is pending.
 */
export class PublishDeadlines {
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Settles with `work`, or rejects with `timeoutError()` once `timeoutMs` passed first (the work
   * may still finish later; its result is then ignored).
   */
  race<T>(work: Promise<T>, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { deadline: this.clock() + this.timeoutMs, settled: false, onTimeout: () => reject(timeoutError()), next: null };
      if (this.tail) this.tail.next = entry;
      else this.head = entry;
      this.tail = entry;
      if (!this.timer) this.arm();
      work.then(
        (value) => {
          if (entry.settled) return;
          entry.settled = true;
          this.dropSettledHead();
          resolve(value);
        },
        (error: unknown) => {
          if (entry.settled) return;
          entry.settled = true;
          this.dropSettledHead();
          reject(error);
        },
      );
    });
  }

  /** Waits still pending (for tests). */
  get pending(): number {
    let n = 0;
    for (let e = this.head; e; e = e.next) if (!e.settled) n++;
    return n;
  }

  private dropSettledHead(): void {
    while (this.head?.settled) this.head = this.head.next;
    if (!this.head) {
      this.tail = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    if (!this.head) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.head.deadline - this.clock()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    const now = this.clock();
    while (this.head && (this.head.settled || this.head.deadline <= now)) {
      const entry = this.head;
      this.head = entry.next;
      if (!entry.settled) {
        entry.settled = true;
        entry.onTimeout();
      }
    }
    if (!this.head) this.tail = null;
    else this.arm();
  }
}
