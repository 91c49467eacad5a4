import {
  AttemptRecordCodec,
  DeliveryJobCodec,
  EVENT_TYPES,
  ExhaustedDeliveryCodec,
  TOPICS,
  type DeliveryJob,
  type EventType,
} from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { EVENT_BIT, endpointOf, type Route } from '../routing/route.js';
import type { RoutingTable } from '../routing/routing-table.js';
import { buildAttemptRecord, buildSkippedRecord, summaryOf } from './attempt-records.js';
import type { AttemptResult, DeliveryAttempter } from './delivery-attempter.js';
import type { EndpointConcurrencyLimiter } from './endpoint-concurrency-limiter.js';
import type { AttemptFollowUp, FollowUp } from './attempt-follow-up.js';
import type { EndpointCircuitBreaker } from './endpoint-circuit-breaker.js';
import type { DeliveryParker, ParkReason } from './delivery-parker.js';
import { attemptLabel, odisMetrics } from '@odis/platform';

const SUCCEEDED: FollowUp = Object.freeze({ kind: 'none', reason: 'succeeded' });

/** The producer part the executor needs (MessageProducer has it). */
export interface RecordSink {
  send(topic: string, messages: OutboundMessage[]): Promise<void>;
}

/** A resolved destination of one attempt. */
export interface DeliveryTarget {
  url: string;
  endpoint: string;
  secret: string;
  secretEncrypted: string;
  /** A rotation's replaced secret, signing beside `secret` until the epoch ms given (decision 0010). */
  previousSecret?: string;
  previousSecretExpiresAtMs?: number;
  /** The webhook's own request headers (decision 0013). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * How a delivery's turn ended (per-call ordering, decision 0017, follows it): attempted and done
 * (succeeded, a manual attempt, or skipped), waiting on the retry path for a later attempt (`topic`
 * and `dueAt` of the record written there: a failed attempt's retry, or a parked one), or exhausted.
 */
export type Settlement =
  | { kind: 'done' }
  | { kind: 'waiting'; topic: string; dueAt: number }
  | { kind: 'exhausted' };
const DONE: Settlement = Object.freeze({ kind: 'done' });
const EXHAUSTED: Settlement = Object.freeze({ kind: 'exhausted' });

export type TargetDecision = { kind: 'send'; target: DeliveryTarget } | { kind: 'skip'; reason: string };

export interface DispatchCounters {
  attempts: number;
  succeeded: number;
  failed: number;
  skipped: number;
  retried: number;
  exhausted: number;
  inFlight: number;
  /** Deliveries parked on the retry path without an attempt (decision 0014), by reason. */
  parked: number;
  parkedCircuitOpen: number;
  parkedStalled: number;
  /** Deliveries of a rate-limited webhook parked until about their send slot (decision 0013). */
  parkedRateLimited: number;
}

export interface DeliveryExecutorDeps {
  attempter: DeliveryAttempter;
  limiter: EndpointConcurrencyLimiter;
  followUp: AttemptFollowUp;
  sink: RecordSink;
  table: RoutingTable;
  /** Decrypts a job's own secret (subscription not in the table yet). */
  decrypt: (sealed: string, context: string) => string;
  now?: () => number;
  /** Retries a failed produce until it succeeds (or throws once shutting down). */
  sendDurably?: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  /** How long a job may refer to a subscription the table has never seen before it counts as deleted. */
  unknownSubscriptionGraceMs?: number;
  /**
   * Endpoint isolation (decision 0014): the per-origin breaker and the parker. Without them every
   * delivery is attempted and a queued job waits for its endpoint's slot in the consumer's window.
   */
  breaker?: EndpointCircuitBreaker;
  parker?: DeliveryParker;
  /** An endpoint with every slot held and none freed for this long is stalled (DISPATCH_HANDOFF_AFTER_MS). */
  stallAfterMs?: number;
}

/** Attempt 1 of a scheduled delivery (not a manual redelivery or test event): what an open breaker parks. */
export function isFirstScheduledAttempt(job: DeliveryJob): boolean {
  return job.attempt === 1 && !job.manual;
}

const EVENT_SET = new Set<string>(EVENT_TYPES);

/**
 * Runs deliveries: decides whether a job may still be sent (its webhook may have been disabled,
 * deleted or unsubscribed since it was planned), holds a per-endpoint slot for the HTTP attempt
 * only, then records the outcome on `webhooks.attempts` and routes a failure to its retry tier or
 * to `webhooks.exhausted`. It resolves only after those records are acknowledged by Kafka, so the
 * caller may then let the consumer commit.
 */
export class DeliveryExecutor {
  readonly counters: DispatchCounters = {
    attempts: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    retried: 0,
    exhausted: 0,
    inFlight: 0,
    parked: 0,
    parkedCircuitOpen: 0,
    parkedStalled: 0,
    parkedRateLimited: 0,
  };
  private readonly now: () => number;
  private readonly graceMs: number;
  private readonly sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  private readonly secretCache = new Map<string, { sealed: string; secret: string }>();

  constructor(private readonly deps: DeliveryExecutorDeps) {
    this.now = deps.now ?? Date.now;
    this.graceMs = deps.unknownSubscriptionGraceMs ?? 5 * 60_000;
    this.sendDurably = deps.sendDurably ?? ((topic, messages) => deps.sink.send(topic, messages));
  }

  static targetOf(route: Route): DeliveryTarget {
    const target: DeliveryTarget = { url: route.url, endpoint: route.endpoint, secret: route.secret, secretEncrypted: route.secretEncrypted };
    if (route.previousSecret !== undefined) {
      target.previousSecret = route.previousSecret;
      target.previousSecretExpiresAtMs = route.previousSecretExpiresAtMs;
    }
    if (route.headers !== undefined) target.headers = route.headers;
    return target;
  }

  /** Where a queued job goes now, from the routing table's current view of its subscription. */
  decide(job: DeliveryJob): TargetDecision {
    const route = this.deps.table.get(job.subscription_id);
    if (route) {
      // A test event (POST /v1/webhooks/{id}/test) goes to the endpoint whatever its status and event filter.
      if (job.test) return { kind: 'send', target: DeliveryExecutor.targetOf(route) };
      if (!route.active) return { kind: 'skip', reason: 'webhook is disabled' };
      if (!EVENT_SET.has(job.event_type) || !(route.eventMask & EVENT_BIT[job.event_type as EventType])) {
        return { kind: 'skip', reason: `webhook is no longer subscribed to ${job.event_type}` };
      }
      return { kind: 'send', target: DeliveryExecutor.targetOf(route) };
    }
    if (this.deps.table.isDeleted(job.subscription_id)) return { kind: 'skip', reason: 'webhook was deleted' };
    // Fail closed: the latest snapshot could not be read (e.g. its secret's key is not configured).
    if (this.deps.table.isUnreadable(job.subscription_id)) return { kind: 'skip', reason: 'webhook state is unreadable (latest snapshot does not decode or decrypt)' };
    const created = Date.parse(job.created_at);
    if (Number.isFinite(created) && this.now() - created > this.graceMs) return { kind: 'skip', reason: 'webhook no longer exists' };
    // Planned by a dispatcher that has seen a snapshot this one has not applied yet: the job carries
    // what is needed.
    const endpoint = endpointOf(job.url);
    let secret: string;
    try {
      secret = this.jobSecret(job);
    } catch (err) {
      return { kind: 'skip', reason: `secret of the delivery does not decrypt: ${(err as Error).message}` };
    }
    return { kind: 'send', target: { url: job.url, endpoint: endpoint ?? job.url, secret, secretEncrypted: job.secret_encrypted } };
  }

  /**
   * A job from `webhooks.deliveries`: skip it, park it (its endpoint's breaker is open, or the
   * endpoint is stalled and already has a full queue: it must not hold a place in the consumer's
   * window for the endpoint's timeouts), or wait for its endpoint's slot and attempt it.
   */
  async runQueued(job: DeliveryJob): Promise<Settlement> {
    const decision = this.decide(job);
    if (decision.kind === 'skip') return this.recordSkip(job, decision.reason);
    const { endpoint } = decision.target;
    const parkUntil = this.parkUntil(job, endpoint);
    if (parkUntil !== null) return this.park(job, parkUntil, 'circuit_open');
    const { limiter } = this.deps;
    if (!limiter.tryAcquire(endpoint)) {
      const stallUntil = this.stalledParkUntil(job, endpoint);
      if (stallUntil !== null) return this.park(job, stallUntil, 'endpoint_stalled');
      await limiter.acquire(endpoint);
    }
    return this.runHeld(job, decision.target);
  }

  /**
   * When a delivery of `endpoint` would be parked now because its breaker is open (without taking
   * the half-open probe), or null. Fan-out asks this before it waits for a slot or hands off.
   */
  parkUntil(job: DeliveryJob, endpoint: string): number | null {
    const { breaker, parker } = this.deps;
    if (!breaker?.enabled || !parker?.canPark) return null;
    return breaker.parkUntil(endpoint, isFirstScheduledAttempt(job));
  }

  /**
   * A queued job whose endpoint has no free slot: parked when the endpoint is stalled or its breaker
   * is not closed and `perEndpoint` jobs already wait for it (so one endpoint never holds more than
   * twice its limit of a partition's window), or null (wait for the slot). Manual attempts wait.
   */
  private stalledParkUntil(job: DeliveryJob, endpoint: string): number | null {
    const { breaker, parker, limiter } = this.deps;
    if (!breaker?.enabled || !parker?.canPark || job.manual) return null;
    if (limiter.queued(endpoint) < limiter.perEndpoint) return null;
    if (breaker.state(endpoint) === 'closed' && !limiter.isStalled(endpoint, this.deps.stallAfterMs ?? 1_000)) return null;
    return this.now() + breaker.openMs;
  }

  /** The longest wait {@link park} can give, or null when nothing can be parked (no parker, or a one-attempt schedule). */
  get parkMaxWaitMs(): number | null {
    const { parker } = this.deps;
    return parker?.canPark ? parker.maxWaitMs : null;
  }

  /** Parks a delivery on the retry path (not an attempt: nothing is recorded on `webhooks.attempts`). */
  async park(job: DeliveryJob, untilMs: number, reason: ParkReason): Promise<Settlement> {
    const planned = this.deps.parker!.plan(job, untilMs, reason);
    this.counters.parked++;
    if (reason === 'circuit_open') this.counters.parkedCircuitOpen++;
    else if (reason === 'rate_limited') this.counters.parkedRateLimited++;
    else this.counters.parkedStalled++;
    await this.sendDurably(planned.topic, [planned.message]);
    return { kind: 'waiting', topic: planned.topic, dueAt: planned.dueAt };
  }

  /**
   * Attempts a job whose endpoint slot the caller already holds; the slot is released after the HTTP
   * part. The breaker is asked first (it may have opened while the job waited for the slot, and in
   * half-open only one first attempt goes as the probe): a parked job releases the slot unused.
   */
  async runHeld(job: DeliveryJob, target: DeliveryTarget): Promise<Settlement> {
    const { breaker } = this.deps;
    if (breaker?.enabled && this.deps.parker?.canPark) {
      const admission = breaker.admit(target.endpoint, isFirstScheduledAttempt(job));
      if (admission.kind === 'park') {
        this.deps.limiter.release(target.endpoint);
        return this.park(job, admission.untilMs, 'circuit_open');
      }
    }
    let result: AttemptResult;
    this.counters.inFlight++;
    try {
      result = await this.deps.attempter.attempt(job, target);
    } finally {
      this.counters.inFlight--;
      this.deps.limiter.release(target.endpoint);
    }
    breaker?.record(target.endpoint, result.outcome === 'succeeded' ? null : result.errorClass);
    return this.record(job, target, result);
  }

  async recordSkip(job: DeliveryJob, reason: string): Promise<Settlement> {
    this.counters.skipped++;
    odisMetrics.deliveries.inc({ outcome: 'skipped', attempt: attemptLabel(job.attempt) });
    const record = buildSkippedRecord(job, reason, this.now());
    await this.sendDurably(TOPICS.attempts, [AttemptRecordCodec.encode(record)]);
    return DONE;
  }

  private async record(job: DeliveryJob, target: DeliveryTarget, result: AttemptResult): Promise<Settlement> {
    this.counters.attempts++;
    // A success has no follow-up: skip building the summary the retry/exhausted records need.
    const decision: FollowUp =
      result.outcome === 'succeeded'
        ? SUCCEEDED
        : this.deps.followUp.decide(job, summaryOf(job, result, result.attemptedAtMs), this.now(), { url: target.url, secretEncrypted: target.secretEncrypted }, result.retryAfterMs ?? null);
    const record = buildAttemptRecord(job, target.url, result, result.attemptedAtMs, decision.kind === 'retry' ? decision.dueAt : null);
    if (result.outcome === 'succeeded') this.counters.succeeded++;
    else this.counters.failed++;
    observeAttempt(job, result, this.now());
    const attemptSend = this.sendDurably(TOPICS.attempts, [AttemptRecordCodec.encode(record)]);
    if (decision.kind === 'retry') {
      this.counters.retried++;
      await Promise.all([attemptSend, this.sendDurably(decision.topic, [DeliveryJobCodec.encode(decision.job)])]);
      return { kind: 'waiting', topic: decision.topic, dueAt: decision.dueAt };
    } else if (decision.kind === 'exhausted') {
      this.counters.exhausted++;
      await Promise.all([attemptSend, this.sendDurably(TOPICS.exhausted, [ExhaustedDeliveryCodec.encode(decision.message)])]);
      return EXHAUSTED;
    }
    await attemptSend;
    return DONE;
  }

  private jobSecret(job: DeliveryJob): string {
    const cached = this.secretCache.get(job.subscription_id);
    if (cached && cached.sealed === job.secret_encrypted) return cached.secret;
    const secret = this.deps.decrypt(job.secret_encrypted, job.subscription_id);
    if (this.secretCache.size >= 10_000) this.secretCache.clear();
    this.secretCache.set(job.subscription_id, { sealed: job.secret_encrypted, secret });
    return secret;
  }
}

/** Delivery metrics of one attempt (decision 0018): counted by outcome and attempt number, timed. */
function observeAttempt(job: DeliveryJob, result: AttemptResult, nowMs: number): void {
  odisMetrics.deliveries.inc({ outcome: result.outcome, attempt: attemptLabel(job.attempt) });
  odisMetrics.attemptDuration.observe({ outcome: result.outcome }, result.durationMs / 1000);
  if (result.outcome === 'succeeded' && job.event_received_at) {
    const receivedAt = Date.parse(job.event_received_at);
    if (Number.isFinite(receivedAt)) odisMetrics.deliveryDuration.observe(Math.max(0, nowMs - receivedAt) / 1000);
  }
}
