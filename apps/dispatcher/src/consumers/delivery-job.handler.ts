import { checkWebhookBodySize, decodeMessage, deliveryJob } from '@odis/contracts';
import { Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import type { DeliveryExecutor } from '../delivery/delivery-executor.js';

/** `webhooks.deliveries` → one attempt (or a skip), recorded before the message counts as done. */
export class DeliveryJobHandler {
  constructor(private readonly executor: DeliveryExecutor) {}

  async handle(message: InboundMessage): Promise<MessageOutcome> {
    const decoded = decodeMessage(deliveryJob, message.value);
    if (!decoded.ok) return Outcome.deadLetter(`undecodable delivery job: ${decoded.reason}`);
    const tooLarge = checkWebhookBodySize(decoded.value.body);
    if (tooLarge) return Outcome.deadLetter(`body_too_large: ${tooLarge}`);
    await this.executor.runQueued(decoded.value);
    return Outcome.done();
  }
}
