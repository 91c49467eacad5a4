import { describe, expect, it } from '@jest/globals';
import { firstAttemptJob, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { CallHoldCodec, HoldRebuild, holdRecordKey, type CallHoldStore, type StoredHold } from './call-holds.js';
import { CallOrderingCoordinator } from './call-ordering.coordinator.js';
import type { LaneHold } from './call-order-lanes.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const HOLD: LaneHold = { deliveryId: 'dlv_head', eventType: 'call.started', topic: 'webhooks.retry.2', dueAt: T0 + 1_000 };

const inbound = (m: OutboundMessage) => ({ key: Buffer.from(String(m.key)), value: m.value === null ? null : Buffer.from(String(m.value)) });

function job(id: string, call: string, atMs: number, sub = 'wh_1'): DeliveryJob {
  return firstAttemptJob(
    {
      delivery_id: id,
      event_id: `evt_${id}`,
      event_type: 'call.started',
      account_id: 'acct_1',
      subscription_id: sub,
      url: 'https://example.com/hook',
      secret_encrypted: 'x',
      body: '{}',
      event_received_at: new Date(atMs).toISOString(),
      order_key: call,
      ingest_seq: 0,
    },
    atMs,
  );
}

/** The store as Kafka keeps it: records per partition, in order (compaction only drops superseded ones). */
class LogStore implements CallHoldStore {
  readonly records = new Map<number, OutboundMessage[]>();
  loads = 0;
  private append(m: OutboundMessage): Promise<void> {
    const p = m.partition!;
    this.records.set(p, [...(this.records.get(p) ?? []), m]);
    return Promise.resolve();
  }
  write(partition: number, webhookId: string, callId: string, hold: LaneHold): Promise<void> {
    return this.append(CallHoldCodec.encode(webhookId, callId, hold, partition));
  }
  release(partition: number, webhookId: string, callId: string): Promise<void> {
    return this.append(CallHoldCodec.tombstone(webhookId, callId, partition));
  }
  load(partitions: number[]): Promise<Map<number, StoredHold[]>> {
    this.loads++;
    const out = new Map<number, StoredHold[]>();
    for (const p of partitions) {
      const rebuild = new HoldRebuild();
      for (const m of this.records.get(p) ?? []) rebuild.apply(inbound(m));
      out.set(p, rebuild.holds());
    }
    return Promise.resolve(out);
  }
}

function coordinator(store: CallHoldStore, parks: { topic: string; ids: string[] }[], now = () => T0) {
  return new CallOrderingCoordinator({
    settleMs: 0,
    now,
    log: () => undefined,
    holds: store,
    sendDurably: (topic, messages) => {
      parks.push({ topic, ids: messages.map((m) => (JSON.parse(String(m.value)) as { delivery_id: string }).delivery_id) });
      return Promise.resolve();
    },
  });
}

describe('CallHoldCodec', () => {
  it('round-trips a hold on the given partition, keyed by webhook and call', () => {
    const m = CallHoldCodec.encode('wh_1', 'call_7', HOLD, 3);
    expect(m.partition).toBe(3);
    expect(m.key).toBe(holdRecordKey('wh_1', 'call_7'));
    expect(CallHoldCodec.decode(inbound(m))).toEqual({ ok: true, key: 'wh_1/call_7', hold: { webhookId: 'wh_1', callId: 'call_7', hold: HOLD } });
  });

  it('decodes a tombstone as no hold, and refuses malformed records', () => {
    expect(CallHoldCodec.decode(inbound(CallHoldCodec.tombstone('wh_1', 'call_7', 0)))).toEqual({ ok: true, key: 'wh_1/call_7', hold: null });
    expect(CallHoldCodec.decode({ key: Buffer.from('wh_1/call_7'), value: Buffer.from('{') })).toEqual({ ok: false, reason: 'not JSON' });
    expect(CallHoldCodec.decode({ key: Buffer.from('wh_1/call_7'), value: Buffer.from('{"webhook_id":"wh_1"}') })).toEqual({ ok: false, reason: 'missing field' });
    const other = CallHoldCodec.encode('wh_1', 'call_8', HOLD, 0);
    expect(CallHoldCodec.decode({ key: Buffer.from('wh_1/call_7'), value: Buffer.from(String(other.value)) })).toEqual({ ok: false, reason: 'key does not match the value' });
    expect(CallHoldCodec.decode({ key: null, value: null })).toEqual({ ok: false, reason: 'no key' });
  });
});

describe('HoldRebuild', () => {
  it('keeps the last record of each key, drops tombstoned ones, counts malformed ones', () => {
    const rebuild = new HoldRebuild();
    rebuild.apply(inbound(CallHoldCodec.encode('wh_1', 'call_1', HOLD, 0)));
    rebuild.apply(inbound(CallHoldCodec.encode('wh_1', 'call_2', HOLD, 0)));
    rebuild.apply(inbound(CallHoldCodec.encode('wh_1', 'call_1', { ...HOLD, topic: 'webhooks.retry.3', dueAt: T0 + 2_000 }, 0)));
    rebuild.apply(inbound(CallHoldCodec.tombstone('wh_1', 'call_2', 0)));
    rebuild.apply({ key: Buffer.from('x'), value: Buffer.from('nonsense') });
    expect(rebuild.holds()).toEqual([{ webhookId: 'wh_1', callId: 'call_1', hold: { ...HOLD, topic: 'webhooks.retry.3', dueAt: T0 + 2_000 } }]);
    expect(rebuild.skipped).toBe(1);
  });
});

describe('CallOrderingCoordinator with a hold store', () => {
  it('writes the hold before the head counts as done; a restarted owner reads it back and parks a new event of the call behind the head', async () => {
    const store = new LogStore();
    const parks: { topic: string; ids: string[] }[] = [];
    const first = coordinator(store, parks);
    const head = job('dlv_head', 'call_7', T0);
    const turn = await first.admit(head, 2);
    expect(turn.kind).toBe('send');
    await first.finish((turn as { token: number }).token, head, { kind: 'waiting', topic: 'webhooks.retry.2', dueAt: T0 + 1_000 }, 2);
    expect(store.records.get(2)).toHaveLength(1);
    first.close();

    // A new owner (restart): nothing in memory, the store has the hold.
    const second = coordinator(store, parks);
    const later = job('dlv_later', 'call_7', T0 + 5);
    expect(await second.admit(later, 2)).toEqual({ kind: 'parked' });
    expect(parks).toEqual([{ topic: 'webhooks.retry.2', ids: ['dlv_later'] }]);
    // Another call of the same partition is not held.
    const other = await second.admit(job('dlv_other', 'call_8', T0 + 5), 2);
    expect(other.kind).toBe('send');
    expect(second.counters()).toMatchObject({ holdsRestored: 1, holdLoads: 1 });

    // The head comes back (same delivery id): it goes, succeeds, and the hold is released in the store.
    const back = await second.admit({ ...head, attempt: 2 }, 2);
    expect(back.kind).toBe('send');
    await second.finish((back as { token: number }).token, { ...head, attempt: 2 }, { kind: 'done' }, 2);
    const third = coordinator(store, parks);
    expect((await third.admit(job('dlv_after', 'call_7', T0 + 9), 2)).kind).toBe('send');
    expect(third.counters()).toMatchObject({ holdsRestored: 0 });
    for (const c of [second, third]) c.close();
  });

  it('reads a partition back once per assignment epoch, and forgets holds another owner released meanwhile', async () => {
    const store = new LogStore();
    const parks: { topic: string; ids: string[] }[] = [];
    let epoch = 1;
    const c = coordinator(store, parks);
    c.attachAssignmentEpoch(() => epoch);
    await store.write(0, 'wh_1', 'call_1', HOLD);
    expect(await c.admit(job('a', 'call_1', T0), 0)).toEqual({ kind: 'parked' });
    expect(await c.admit(job('b', 'call_1', T0), 0)).toEqual({ kind: 'parked' });
    expect(store.loads).toBe(1);
    // Lost and regained the partition; meanwhile another owner released the hold.
    await store.release(0, 'wh_1', 'call_1');
    epoch = 3;
    expect((await c.admit(job('c', 'call_1', T0), 0)).kind).toBe('send');
    expect(store.loads).toBe(2);
    c.close();
  });

  it('an exhausted head releases its hold record', async () => {
    const store = new LogStore();
    const c = coordinator(store, []);
    await store.write(1, 'wh_1', 'call_1', HOLD);
    const head = { ...job('dlv_head', 'call_1', T0), attempt: 3 };
    const turn = await c.admit(head, 1);
    expect(turn.kind).toBe('send');
    await c.finish((turn as { token: number }).token, head, { kind: 'exhausted' }, 1);
    expect((await store.load([1])).get(1)).toEqual([]);
    expect(c.counters()).toMatchObject({ holdsReleased: 1 });
    c.close();
  });

  it('a hold that cannot be written (shutting down) fails the head and the deliveries behind it: none counts as done', async () => {
    const store = new LogStore();
    store.write = () => Promise.reject(new Error('closing'));
    const c = coordinator(store, []);
    const head = job('dlv_head', 'call_1', T0);
    const turn = await c.admit(head, 0);
    const behind = c.admit(job('dlv_behind', 'call_1', T0 + 1), 0);
    await new Promise((r) => setTimeout(r, 20)); // it queues behind the head (after the partition's read)
    await expect(c.finish((turn as { token: number }).token, head, { kind: 'waiting', topic: 'webhooks.retry.2', dueAt: T0 + 1_000 }, 0)).rejects.toThrow('closing');
    await expect(behind).rejects.toThrow('closing');
    c.close();
  });
});
