/**
 * `npm run cli -- dlq list|show|replay` on the real Kafka and Postgres: poison records dead-lettered
 * by a platform consumer (ConsumerRunner), listed and shown with their reason, replayed once onto
 * their original topic with the same key and event id after the fix, and never again.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { ConsumerRunner, MessageProducer, Outcome, readTopicToEnd, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { runCli } from '../../apps/subscription-api/src/cli/accounts.command.js';
import { collect, connection, createTopic, unique, waitFor } from '../messaging/kafka-kit.js';

jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const env = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL, KAFKA_LOG_LEVEL: 'error' };
  const code = await runCli(args, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function recordsOf(topic: string): Promise<InboundMessage[]> {
  const records: InboundMessage[] = [];
  await readTopicToEnd(connection(), { topic, onMessage: (m) => void records.push(m) });
  return records;
}

describe('dlq CLI', () => {
  it('lists and shows dead letters with their reason, replays each once with its event id, and replaying again does nothing', async () => {
    const conn = connection();
    const topic = unique('it.ops.source');
    const dlq = unique('it.ops.dlq');
    await createTopic(conn.kafka, topic, 1);
    await createTopic(conn.kafka, dlq, 1);
    const producer = new MessageProducer(conn);
    cleanups.push(() => producer.disconnect());
    await producer.send(topic, [
      { key: 'acct_1', value: '{"event":"call.started","data":{"poison":1}}', headers: { 'odis-event-id': 'evt_poison_1' } },
      { key: 'acct_1', value: '{"event":"call.started","data":{}}', headers: { 'odis-event-id': 'evt_fine' } },
      { key: 'acct_2', value: '{"event":"call.ended","data":{"poison":2,"note":"\\u001b[2J"}}', headers: { 'odis-event-id': 'evt_poison_2' } },
    ]);
    let fixed = false;
    const processed: string[] = [];
    const runner = new ConsumerRunner(conn, {
      groupId: unique('it.ops.g'),
      topics: [topic],
      deadLetterTopic: dlq,
      handler: async (m): Promise<MessageOutcome> => {
        if (!fixed && m.value!.toString().includes('poison')) return Outcome.deadLetter('data.call_id: required');
        processed.push(m.headers['odis-event-id']);
        return Outcome.done();
      },
    });
    cleanups.push(() => runner.stop());
    const dead = await collect(conn, dlq);
    cleanups.push(() => dead.reader.stop());
    await runner.start();
    await waitFor(() => dead.records.length === 2 && processed.length === 1, 30_000, 'two dead letters and the fine record');

    // list: offset, time, reason, original topic, key, event id
    const list = await cli('dlq', 'list', '--topic', dlq);
    expect(list.code).toBe(0);
    expect(list.out).toContain(`${dlq}: 2 dead letter(s)`);
    expect(list.out).toMatch(new RegExp(`0@0 .* from ${topic.replace(/\./g, '\\.')}\\[0\\]@0  key=acct_1  event=evt_poison_1  reason: data\\.call_id: required`));
    expect(list.out).toMatch(/0@1 .*@2  key=acct_2  event=evt_poison_2/);
    const json = await cli('dlq', 'list', '--topic', dlq, '--limit', '1', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ offset: '1', eventId: 'evt_poison_2', sourceTopic: topic, sourceOffset: '2' });

    // show: headers and value, printed safely
    const show = await cli('dlq', 'show', '--topic', dlq, '--offset', '1');
    expect(show.code).toBe(0);
    expect(show.out).toContain('reason: data.call_id: required');
    expect(show.out).toContain('odis-event-id: evt_poison_2');
    expect(show.out).toContain('"poison": 2');
    expect(show.out).not.toContain('\u001b');
    expect((await cli('dlq', 'show', '--topic', dlq, '--offset', '99')).code).toBe(1);

    // the fix, then replay of one dead letter: back on its topic once, same key and event id
    fixed = true;
    const one = await cli('dlq', 'replay', '--topic', dlq, '--offset', '0');
    expect([one.code, one.err]).toEqual([0, '']);
    expect(one.out).toContain('replayed 1, already replayed 0');
    await waitFor(() => processed.includes('evt_poison_1'), 30_000, 'the replayed record consumed');
    const source = await recordsOf(topic);
    const replayed = source.filter((m) => m.headers['odis-event-id'] === 'evt_poison_1');
    expect(replayed).toHaveLength(2); // the original and its one replay
    expect(replayed[1].key?.toString()).toBe('acct_1');
    expect(replayed[1].value?.toString()).toBe(replayed[0].value?.toString());
    expect(Object.keys(replayed[1].headers).filter((k) => k.startsWith('odis-dlq-'))).toEqual([]);

    // a dry run lists the one left and produces nothing
    const dry = await cli('dlq', 'replay', '--topic', dlq, '--all', '--dry-run');
    expect(dry.out).toContain(`${dlq} 0@1: would replay to ${topic} (event evt_poison_2)`);
    expect(dry.out).toContain('would replay 1, already replayed 1');
    expect((await recordsOf(topic)).length).toBe(4);

    // --all replays only what was not replayed; again, nothing
    const all = await cli('dlq', 'replay', '--topic', dlq, '--all');
    expect(all.out).toContain('replayed 1, already replayed 1');
    const again = await cli('dlq', 'replay', '--topic', dlq, '--all');
    expect(again.out).toContain('replayed 0, already replayed 2');
    const onceMore = await cli('dlq', 'replay', '--topic', dlq, '--offset', '0');
    expect(onceMore.out).toContain('already replayed, skipped');
    await waitFor(() => processed.includes('evt_poison_2'), 30_000, 'the second replayed record consumed');
    const finalSource = await recordsOf(topic);
    expect(finalSource.map((m) => m.headers['odis-event-id'])).toEqual(['evt_poison_1', 'evt_fine', 'evt_poison_2', 'evt_poison_1', 'evt_poison_2']);
    expect(processed.sort()).toEqual(['evt_fine', 'evt_poison_1', 'evt_poison_2']);
  });

  it('is reachable as `npm run cli -- dlq` (the built entry point) and explains bad arguments', () => {
    const run = spawnSync(process.execPath, ['dist/apps/subscription-api/src/cli/main.js', 'dlq', 'replay', '--topic', 'webhooks.dlq'], {
      encoding: 'utf8',
      env: { ...process.env, KAFKA_LOG_LEVEL: 'error' },
    });
    expect(run.status).toBe(64);
    expect(run.stderr).toContain('replay needs exactly one of --offset <n> and --all');
    expect(run.stderr).toContain('dlq list   --topic <dlq topic>');
  });
});
