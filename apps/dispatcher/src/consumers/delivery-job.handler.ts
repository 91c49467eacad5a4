import { decodeMessage, deliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import type { DeliveryExecutor } from '../delivery/delivery-executor.js';

/** `webhooks.deliveries` → one attempt (or a skip), recorded before the message counts as done. */
export class DeliveryJobHandler {
  constructor(private readonly executor: DeliveryExecutor) {}

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = decodeMessage(deliveryJob, message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable delivery job: ${decoded.reason}`);
    await this.executor.runQueued(decoded.value);
    return Outcome.done();
  }
}
