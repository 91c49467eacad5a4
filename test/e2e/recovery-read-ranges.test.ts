/**
 * The recovery reader (decision 0011) on the real broker over a range far longer than one fetch:
 * kafkajs fetches from the last resolved offset, so a reader that did not resolve what it handled got
 * the first batch again and again and never reached the end of a range beyond ~1 MiB (a 10,000-event
 * recovery's count ran into its 60 s limit). Here 4,000 events of ~1.3 KiB (~5 MiB, several fetches)
 * of one account are read: each once, in offset order, and counted exactly, well within the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EVENT_TOPICS, newId, SEED_EXAMPLES, ValidatedEventCodec } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { countEvents, rangesFor } from '../../apps/subscription-api/src/recoveries/recoveries.service.js';
import { readRanges } from '../../apps/subscription-api/src/recoveries/partition-range-reader.js';
import { matchRecord, type RecoveryScope } from '../../apps/subscription-api/src/recoveries/recovery-plan.js';
import { ensurePlatformTopics, suffix, TestKafka } from '../dispatch/support.js';

const EVENTS = 4_000;

describe('recovery reader over a range longer than one fetch (real Kafka)', () => {
  const kafka = new TestKafka();
  const accountId = `acct_readranges_${suffix()}`;
  const ids: string[] = [];
  let scope: RecoveryScope;

  beforeAll(async () => {
    await ensurePlatformTopics();
    const sinceMs = Date.now() - 1_000;
    const sample = SEED_EXAMPLES['call.started'];
    const padding = 'x'.repeat(1_024);
    const messages: OutboundMessage[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const eventId = newId('evt');
      ids.push(eventId);
      messages.push(
        ValidatedEventCodec.encode({
          v: 1,
          event_id: eventId,
          account_id: accountId,
          event: 'call.started',
          timestamp: sample.timestamp,
          data: { ...(sample.data as Record<string, unknown>), call_id: `call_${i}`, note: padding },
          received_at: new Date().toISOString(),
        }),
      );
    }
    // In order (one send at a time, in chunks), so offset order is production order.
    for (let i = 0; i < messages.length; i += 500) await kafka.producer.send(EVENT_TOPICS['call.started'], messages.slice(i, i + 500));
    await new Promise((r) => setTimeout(r, 50));
    scope = { accountId, eventTypes: ['call.started'], sinceMs, untilMs: Date.now() };
  }, 120_000);

  afterAll(async () => {
    await kafka.close();
  });

  it('hands every record of the range once, in offset order, and counts them all', async () => {
    const ranges = await rangesFor(kafka.connection, scope);
    expect(ranges).toHaveLength(1);
    expect(ranges[0].toOffset - ranges[0].fromOffset).toBeGreaterThanOrEqual(BigInt(EVENTS));

    const seen: string[] = [];
    const offsets: bigint[] = [];
    const t0 = Date.now();
    await readRanges(
      kafka.connection.kafka,
      ranges,
      async (record) => {
        offsets.push(BigInt(record.offset));
        const event = matchRecord(record, scope);
        if (event) seen.push(event.event_id);
      },
      { groupIdPrefix: 'it-recovery-read', signal: AbortSignal.timeout(60_000) },
    );
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(seen).toEqual(ids);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i] > offsets[i - 1]).toBe(true);

    expect(await countEvents(kafka.connection, scope, 30_000)).toBe(EVENTS);
  }, 90_000);
});
