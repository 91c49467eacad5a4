import { TOPICS } from '@odis/contracts';
import { readTopicToEnd, type InboundMessage, type OutboundMessage, type ReaderKafkaSource } from '@odis/messaging';
import type { LaneHold } from './call-order-lanes.js';

/**
 * The durable side of per-call ordering's holds (decision 0017): `webhooks.call-holds`, compacted,
 * one record per held (webhook, call) — key `<webhook id>/<call_id>`, value the head (delivery id,
 * event type, tier topic, due time) — and a tombstone once the head succeeded, was skipped or was
 * exhausted. A hold is written to the **partition number of the webhook's `webhooks.deliveries`
 * partition** (both topics have the same partition count), so the owner of a deliveries partition
 * finds every hold of its webhooks on the same partition number of this topic.
 */
export interface StoredHold {
  webhookId: string;
  callId: string;
  hold: LaneHold;
}

const VERSION = 1;

export function holdRecordKey(webhookId: string, callId: string): string {
  return `${webhookId}/${callId}`;
}

export const CallHoldCodec = {
  encode(webhookId: string, callId: string, hold: LaneHold, partition: number): OutboundMessage {
    const value = { v: VERSION, webhook_id: webhookId, call_id: callId, delivery_id: hold.deliveryId, event_type: hold.eventType, topic: hold.topic, due_at: hold.dueAt };
    return { key: holdRecordKey(webhookId, callId), value: JSON.stringify(value), partition };
  },
  tombstone(webhookId: string, callId: string, partition: number): OutboundMessage {
    return { key: holdRecordKey(webhookId, callId), value: null, partition };
  },
  /** A hold, `null` for a tombstone (the key is then returned for the caller to drop it), or an error for a malformed record. */
  decode(message: Pick<InboundMessage, 'key' | 'value'>): { ok: true; key: string; hold: StoredHold | null } | { ok: false; reason: string } {
    const key = message.key?.toString('utf8');
    if (!key) return { ok: false, reason: 'no key' };
    if (message.value === null) return { ok: true, key, hold: null };
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.value.toString('utf8'));
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
    const r = parsed as Record<string, unknown>;
    const str = (f: string) => (typeof r[f] === 'string' && (r[f] as string).length > 0 ? (r[f] as string) : null);
    const webhookId = str('webhook_id');
    const callId = str('call_id');
    const deliveryId = str('delivery_id');
    const eventType = str('event_type');
    const topic = str('topic');
    const dueAt = typeof r.due_at === 'number' && Number.isFinite(r.due_at) ? r.due_at : null;
    if (!webhookId || !callId || !deliveryId || !eventType || !topic || dueAt === null) return { ok: false, reason: 'missing field' };
    if (holdRecordKey(webhookId, callId) !== key) return { ok: false, reason: 'key does not match the value' };
    return { ok: true, key, hold: { webhookId, callId, hold: { deliveryId, eventType, topic, dueAt } } };
  },
};

/**
 * Folds a partition's records (offset order) into its live holds: the last record of a key wins, a
 * tombstone drops it. Only live holds are kept, so memory is bounded by what is held, not by the log.
 */
export class HoldRebuild {
  private readonly live = new Map<string, StoredHold>();
  skipped = 0;

  apply(message: Pick<InboundMessage, 'key' | 'value'>): void {
    const decoded = CallHoldCodec.decode(message);
    if (!decoded.ok) {
      this.skipped++;
      return;
    }
    if (decoded.hold) this.live.set(decoded.key, decoded.hold);
    else this.live.delete(decoded.key);
  }

  holds(): StoredHold[] {
    return [...this.live.values()];
  }
}

/** Where the coordinator keeps holds durably (Kafka in the app; a map in unit specs). */
export interface CallHoldStore {
  /** Written before the head's message counts as done; resolves once acknowledged. */
  write(partition: number, webhookId: string, callId: string, hold: LaneHold): Promise<void>;
  release(partition: number, webhookId: string, callId: string): Promise<void>;
  /** The live holds of these partitions, read to the end the topic has now. */
  load(partitions: number[]): Promise<Map<number, StoredHold[]>>;
}

/** {@link CallHoldStore} on `webhooks.call-holds`. */
export class KafkaCallHoldStore implements CallHoldStore {
  constructor(
    private readonly source: ReaderKafkaSource,
    private readonly sendDurably: (topic: string, messages: OutboundMessage[]) => Promise<void>,
    private readonly onSkipped: (reason: string) => void = () => undefined,
  ) {}

  write(partition: number, webhookId: string, callId: string, hold: LaneHold): Promise<void> {
    return this.sendDurably(TOPICS.callHolds, [CallHoldCodec.encode(webhookId, callId, hold, partition)]);
  }

  release(partition: number, webhookId: string, callId: string): Promise<void> {
    return this.sendDurably(TOPICS.callHolds, [CallHoldCodec.tombstone(webhookId, callId, partition)]);
  }

  async load(partitions: number[]): Promise<Map<number, StoredHold[]>> {
    const wanted = new Set(partitions);
    const rebuilds = new Map<number, HoldRebuild>(partitions.map((p) => [p, new HoldRebuild()]));
    // The compacted topic holds the current holds (plus not yet compacted history); only the wanted
    // partitions' live holds are kept.
    await readTopicToEnd(this.source, {
      topic: TOPICS.callHolds,
      groupIdPrefix: 'dispatcher-call-holds',
      maxWaitTimeMs: 200,
      onMessage: (m) => {
        if (wanted.has(m.partition)) rebuilds.get(m.partition)!.apply(m);
      },
    });
    const result = new Map<number, StoredHold[]>();
    for (const [p, rebuild] of rebuilds) {
      if (rebuild.skipped > 0) this.onSkipped(`${rebuild.skipped} malformed records in ${TOPICS.callHolds}[${p}] skipped`);
      result.set(p, rebuild.holds());
    }
    return result;
  }
}
