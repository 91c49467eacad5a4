import { decodeMessage, TOPICS, validatedEventMessage, type DeliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome, type OutboundMessage } from '@odis/messaging';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import type { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import type { RoutingTable } from '../routing/routing-table.js';
import type { FanOutPlanner } from './fan-out-planner.js';

export interface FanOutCounters {
  events: number;
  eventsWithoutSubscribers: number;
  deliveries: number;
  inline: number;
  handedOff: number;
}

export interface FanOutDeps {
  table: RoutingTable;
  planner: FanOutPlanner;
  executor: DeliveryExecutor;
  limiter: EndpointConcurrencyLimiter;
  sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>;
  now?: () => number;
}

/**
 * One validated event → its deliveries. Attempt 1 of a delivery runs inline (no extra Kafka hop)
 * when its endpoint has a free slot right now; a delivery whose endpoint is saturated (slow or
 * hanging) is handed off to `webhooks.deliveries` instead, where it waits in that endpoint's queue
 * without holding this event back. The event is done once every inline attempt is recorded and every
 * hand-off is acknowledged.
 */
export class FanOutProcessor {
  readonly counters: FanOutCounters = { events: 0, eventsWithoutSubscribers: 0, deliveries: 0, inline: 0, handedOff: 0 };
  private readonly now: () => number;

  constructor(private readonly deps: FanOutDeps) {
    this.now = deps.now ?? Date.now;
  }

  async process(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = decodeMessage(validatedEventMessage, message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable validated event: ${decoded.reason}`);
    const event = decoded.value;
    this.counters.events++;
    const routes = this.deps.table.match(event.account_id, event.event);
    if (routes.length === 0) {
      this.counters.eventsWithoutSubscribers++;
      return Outcome.done();
    }
    const planned = this.deps.planner.plan(event, routes, this.now());
    this.counters.deliveries += planned.length;
    const work: Promise<void>[] = [];
    let handoff: OutboundMessage[] | null = null;
    for (const { job, route } of planned) {
      if (this.deps.limiter.tryAcquire(route.endpoint)) {
        this.counters.inline++;
        work.push(this.deps.executor.runHeld(job, DeliveryExecutor.targetOf(route)));
      } else {
        this.counters.handedOff++;
        (handoff ??= []).push(this.handoffMessage(job));
      }
    }
    if (handoff) work.push(this.deps.sendDurably(TOPICS.deliveries, handoff));
    const results = await Promise.allSettled(work);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    return Outcome.done();
  }

  private handoffMessage(job: DeliveryJob): OutboundMessage {
    return this.deps.executor.message(job, 'delivery-job.v1', job);
  }
}
