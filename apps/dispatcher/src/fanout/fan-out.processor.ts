import { checkWebhookBodySize, DeliveryJobCodec, TOPICS, ValidatedEventCodec, type DeliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome, type OutboundMessage } from '@odis/messaging';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import type { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import type { Route } from '../routing/route.js';
import type { RoutingTable } from '../routing/routing-table.js';
import type { FanOutPlanner } from './fan-out-planner.js';

export interface FanOutCounters {
  events: number;
  eventsWithoutSubscribers: number;
  deliveries: number;
  /** Attempt 1 made by the fan-out itself (a slot was free, or freed within the wait budget). */
  inline: number;
  /** Of those, how many waited for a slot first. */
  waited: number;
  /** Sent to `webhooks.deliveries` because the endpoint was stalled or its queue full. */
  handedOff: number;
  /** Parked on the retry path without an attempt: the endpoint's breaker is open (decision 0014). */
  parked: number;
}

export interface FanOutDeps {
  table: RoutingTable;
  planner: FanOutPlanner;
  executor: DeliveryExecutor;
  limiter: EndpointConcurrencyLimiter;
  sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  /**
   * A delivery whose endpoint has no free slot waits for one at most this long (and not at all when
   * the endpoint is stalled: all slots held, none freed for this long); then it is handed off.
   */
  handoffAfterMs?: number;
  /** At most this many fan-out deliveries wait for one endpoint; more are handed off at once. */
  maxWaitingPerEndpoint?: number;
  now?: () => number;
}

/**
 * One validated event → its deliveries. Attempt 1 runs inline (no extra Kafka hop) when its
 * endpoint has a free slot, or gets one within `handoffAfterMs` (a busy but healthy endpoint turns
 * its slots over in milliseconds). A delivery whose endpoint is stalled (slow or hanging: every slot
 * held and none freed for `handoffAfterMs`), whose wait ran out, or whose endpoint already has
 * `maxWaitingPerEndpoint` waiting, is handed off to `webhooks.deliveries` instead, where it waits in
 * that endpoint's queue without holding this event back. The event is done once every inline attempt
 * is recorded and every hand-off is acknowledged.
 */
export class FanOutProcessor {
  readonly counters: FanOutCounters = { events: 0, eventsWithoutSubscribers: 0, deliveries: 0, inline: 0, waited: 0, handedOff: 0, parked: 0 };
  private readonly now: () => number;
  private readonly handoffAfterMs: number;
  private readonly maxWaiting: number;

  constructor(private readonly deps: FanOutDeps) {
    this.now = deps.now ?? Date.now;
    this.handoffAfterMs = deps.handoffAfterMs ?? 1_000;
    this.maxWaiting = deps.maxWaitingPerEndpoint ?? deps.limiter.perEndpoint * 32;
  }

  async process(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = ValidatedEventCodec.decode(message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable validated event: ${decoded.reason}`);
    const event = decoded.value;
    this.counters.events++;
    const routes = this.deps.table.match(event.account_id, event.event);
    if (routes.length === 0) {
      this.counters.eventsWithoutSubscribers++;
      return Outcome.done();
    }
    const planned = this.deps.planner.plan(event, routes, this.now());
    // Ingest refuses such events; this guards against any other producer: nothing over the cap is sent or produced.
    const tooLarge = checkWebhookBodySize(planned[0].job.body);
    if (tooLarge) return Outcome.deadLetter(`body_too_large: ${tooLarge}`);
    this.counters.deliveries += planned.length;
    const work: Promise<unknown>[] = [];
    let handoff: OutboundMessage[] | null = null;
    const { limiter, executor } = this.deps;
    for (const { job, route } of planned) {
      const endpoint = route.endpoint;
      if (job.order_key !== undefined) {
        // `ordering: "call"` (decision 0017): the one owner of the webhook's `webhooks.deliveries`
        // partition keeps each call's deliveries in ingest order (and parks them there when needed).
        this.counters.handedOff++;
        (handoff ??= []).push(this.handoffMessage(job));
        continue;
      }
      const parkUntil = executor.parkUntil(job, endpoint);
      if (parkUntil !== null) {
        this.counters.parked++;
        work.push(executor.park(job, parkUntil, 'circuit_open'));
      } else if (route.rateLimitPerSecond !== undefined) {
        // A rate-limited webhook is paced by the one owner of its `webhooks.deliveries` partition (decision 0013).
        this.counters.handedOff++;
        (handoff ??= []).push(this.handoffMessage(job));
      } else if (limiter.tryAcquire(endpoint)) {
        this.counters.inline++;
        work.push(executor.runHeld(job, DeliveryExecutor.targetOf(route)));
      } else if (limiter.isStalled(endpoint, this.handoffAfterMs) || limiter.queued(endpoint) >= this.maxWaiting) {
        this.counters.handedOff++;
        (handoff ??= []).push(this.handoffMessage(job));
      } else {
        work.push(this.waitThenRun(job, route));
      }
    }
    if (handoff) work.push(this.deps.sendDurably(TOPICS.deliveries, handoff));
    const results = await Promise.allSettled(work);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    return Outcome.done();
  }

  private async waitThenRun(job: DeliveryJob, route: Route): Promise<unknown> {
    if (await this.deps.limiter.acquireWithin(route.endpoint, this.handoffAfterMs)) {
      this.counters.inline++;
      this.counters.waited++;
      return this.deps.executor.runHeld(job, DeliveryExecutor.targetOf(route));
    }
    this.counters.handedOff++;
    return this.deps.sendDurably(TOPICS.deliveries, [this.handoffMessage(job)]);
  }

  private handoffMessage(job: DeliveryJob): OutboundMessage {
    return DeliveryJobCodec.encode(job);
  }
}
