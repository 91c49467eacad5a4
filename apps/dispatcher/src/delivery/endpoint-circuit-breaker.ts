import type { ErrorClass } from '@odis/contracts';

/**
 * Failure classes that mean "the endpoint is not answering" (it holds our slots until the timeout,
 * or cannot be reached at all). An HTTP answer of any status means the endpoint is up: it frees its
 * slot at once and harms nobody else, so it does not count (and closes the breaker).
 * `blocked_target` is our own policy, not the endpoint's health: it counts neither way.
 */
const UNRESPONSIVE: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['timeout', 'connection_refused', 'connection_reset', 'network', 'dns', 'tls']);

/** Most endpoints tracked at once; beyond it the closed ones (a few failures counted) are forgotten. */
const MAX_TRACKED = 10_000;

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What to do with one delivery of an endpoint now. */
export type BreakerDecision =
  | { kind: 'attempt'; probe: boolean }
  /** Not attempted, not counted: parked on the retry path until `untilMs` (decision 0014). */
  | { kind: 'park'; untilMs: number };

export interface EndpointCircuitBreakerOptions {
  /** Consecutive unresponsive attempts that open the breaker; 0 turns the breaker off. */
  failureThreshold: number;
  /** How long the first opening lasts; each reopening after a failed probe doubles it … */
  openMs: number;
  /** … up to this. */
  maxOpenMs: number;
  /** How long a half-open probe may take before another one may go (the attempt timeout plus a margin). */
  probeLeaseMs: number;
  now?: () => number;
}

interface EndpointHealth {
  consecutiveFailures: number;
  /** Epoch ms until which the breaker is open; 0 while closed. */
  openUntil: number;
  /** Openings since it was last closed (the backoff exponent). */
  openings: number;
  openedAt: number;
  /** A half-open probe in flight until this instant (0: none). */
  probeUntil: number;
}

export interface BreakerStats {
  /** Endpoints with failures counted or an open breaker. */
  tracked: number;
  open: number;
  half_open: number;
  opened_total: number;
  closed_total: number;
  probes_total: number;
  /** Open and half-open endpoints (at most 20), longest open first. */
  endpoints: Array<{ endpoint: string; state: BreakerState; consecutive_failures: number; open_until: string; openings: number; open_since: string }>;
}

/**
 * A circuit breaker per endpoint (URL origin), in this dispatcher replica's memory (decision 0014).
 *
 * - **closed**: every delivery is attempted. `failureThreshold` consecutive unresponsive attempts
 *   (timeout, refused, reset, DNS, TLS, network) open it; any HTTP answer resets the count.
 * - **open** (until `openUntil`): a delivery's *first* attempt is parked until `openUntil` instead of
 *   being attempted; retries (attempt ≥ 2) and manual attempts are still made on their schedule
 *   (they are the delivery's scheduled attempts, and they double as probes: an HTTP answer closes
 *   the breaker). Their failures do not extend the opening.
 * - **half-open** (after `openUntil`): one first attempt goes as the probe (a lease of
 *   `probeLeaseMs`); others are parked until the lease ends. An HTTP answer closes the breaker; an
 *   unresponsive one reopens it for twice as long (up to `maxOpenMs`).
 *
 * Pure: the clock is injected; nothing is produced or sent here.
 */
export class EndpointCircuitBreaker {
  private readonly health = new Map<string, EndpointHealth>();
  private readonly now: () => number;
  private openedTotal = 0;
  private closedTotal = 0;
  private probesTotal = 0;

  constructor(private readonly options: EndpointCircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
    const { failureThreshold, openMs, maxOpenMs, probeLeaseMs } = options;
    if (!Number.isInteger(failureThreshold) || failureThreshold < 0) throw new RangeError('failureThreshold must be an integer ≥ 0');
    if (!(openMs > 0) || !(maxOpenMs >= openMs) || !(probeLeaseMs > 0)) throw new RangeError('need 0 < openMs ≤ maxOpenMs and probeLeaseMs > 0');
  }

  /** How long a first opening lasts (also how long a delivery parked for a stalled endpoint waits). */
  get openMs(): number {
    return this.options.openMs;
  }

  get enabled(): boolean {
    return this.options.failureThreshold > 0;
  }

  state(endpoint: string): BreakerState {
    const h = this.health.get(endpoint);
    if (!h || h.openUntil === 0) return 'closed';
    return this.now() < h.openUntil ? 'open' : 'half_open';
  }

  /**
   * Whether a delivery would be parked right now, without taking a probe (fan-out asks before it
   * queues or hands a delivery off). `firstAttempt`: attempt 1 of a scheduled (not manual) delivery.
   */
  parkUntil(endpoint: string, firstAttempt: boolean): number | null {
    if (!firstAttempt) return null;
    const h = this.health.get(endpoint);
    if (!h || h.openUntil === 0) return null;
    const now = this.now();
    if (now < h.openUntil) return h.openUntil;
    return h.probeUntil > now ? h.probeUntil : null;
  }

  /** Decides about one delivery about to be attempted (takes the half-open probe when it is free). */
  admit(endpoint: string, firstAttempt: boolean): BreakerDecision {
    const h = this.health.get(endpoint);
    if (!h || h.openUntil === 0 || !firstAttempt) return { kind: 'attempt', probe: false };
    const now = this.now();
    if (now < h.openUntil) return { kind: 'park', untilMs: h.openUntil };
    if (h.probeUntil > now) return { kind: 'park', untilMs: h.probeUntil };
    h.probeUntil = now + this.options.probeLeaseMs;
    this.probesTotal++;
    return { kind: 'attempt', probe: true };
  }

  /** The outcome of an attempt of `endpoint`: an HTTP answer (`errorClass` null or `http_status`) or an error class. */
  record(endpoint: string, errorClass: ErrorClass | null): void {
    if (!this.enabled || errorClass === 'blocked_target') return;
    const h = this.health.get(endpoint);
    if (errorClass === null || !UNRESPONSIVE.has(errorClass)) {
      if (!h) return;
      if (h.openUntil !== 0) this.closedTotal++;
      this.health.delete(endpoint);
      return;
    }
    const now = this.now();
    if (!h) {
      if (this.health.size >= MAX_TRACKED) this.forgetClosed();
      this.health.set(endpoint, { consecutiveFailures: 1, openUntil: 0, openings: 0, openedAt: 0, probeUntil: 0 });
      if (this.options.failureThreshold <= 1) this.open(this.health.get(endpoint)!, now);
      return;
    }
    h.consecutiveFailures++;
    if (h.openUntil === 0) {
      if (h.consecutiveFailures >= this.options.failureThreshold) this.open(h, now);
    } else if (now >= h.openUntil) {
      // Half-open: the probe (or a retry) did not get an answer either → open again, for longer.
      this.open(h, now);
    }
  }

  stats(): BreakerStats {
    const now = this.now();
    let open = 0;
    let halfOpen = 0;
    const listed: BreakerStats['endpoints'] = [];
    const byAge = [...this.health.entries()].filter(([, h]) => h.openUntil !== 0).sort((a, b) => a[1].openedAt - b[1].openedAt);
    for (const [endpoint, h] of byAge) {
      const state: BreakerState = now < h.openUntil ? 'open' : 'half_open';
      if (state === 'open') open++;
      else halfOpen++;
      if (listed.length < 20) {
        listed.push({
          endpoint,
          state,
          consecutive_failures: h.consecutiveFailures,
          open_until: new Date(h.openUntil).toISOString(),
          openings: h.openings,
          open_since: new Date(h.openedAt).toISOString(),
        });
      }
    }
    return { tracked: this.health.size, open, half_open: halfOpen, opened_total: this.openedTotal, closed_total: this.closedTotal, probes_total: this.probesTotal, endpoints: listed };
  }

  /** Bounds memory: endpoints still closed (failures counted, never answered again) are forgotten first. */
  private forgetClosed(): void {
    for (const [endpoint, h] of this.health) if (h.openUntil === 0) this.health.delete(endpoint);
  }

  private open(h: EndpointHealth, now: number): void {
    const duration = Math.min(this.options.maxOpenMs, this.options.openMs * 2 ** Math.min(h.openings, 30));
    if (h.openUntil === 0) h.openedAt = now;
    h.openings++;
    h.openUntil = now + duration;
    h.probeUntil = 0;
    this.openedTotal++;
  }
}
