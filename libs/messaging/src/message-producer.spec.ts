import { describe, expect, it } from '@jest/globals';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import { MessageProducer, type KafkaProducerLike } from './message-producer.js';

/** A kafkajs producer stand-in: records every sendBatch and lets the test decide when it is acked. */
class FakeProducer implements KafkaProducerLike {
  readonly batches: ProducerBatch[] = [];
  readonly pending: Array<{ resolve: (r: RecordMetadata[]) => void; reject: (e: unknown) => void }> = [];
  connects = 0;
  failConnects = 0;
  disconnected = false;
  autoAck = false;

  async connect(): Promise<void> {
    this.connects++;
    if (this.failConnects-- > 0) throw new Error('broker down');
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch);
    if (this.autoAck) return Promise.resolve(ok(batch));
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  ack(index = 0): void {
    this.pending.splice(index, 1)[0].resolve(ok(this.batches[this.batches.length - this.pending.length - 1]));
  }
  fail(error: unknown): void {
    this.pending.shift()!.reject(error);
  }
  /** Messages of batch i as "topic:value" strings, in order. */
  contents(i: number): string[] {
    return this.batches[i].topicMessages!.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.value)}`));
  }
}

function ok(batch: ProducerBatch | undefined): RecordMetadata[] {
  return (batch?.topicMessages ?? []).map((t) => ({ topicName: t.topic, partition: 0, errorCode: 0 }));
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function settledState(p: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const s: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (s.state = 'resolved'),
    (e) => {
      s.state = 'rejected';
      s.error = e;
    },
  );
  return s;
}

describe('MessageProducer (coalescing)', () => {
  it('coalesces concurrent sends within lingerMs into one acks=all sendBatch', async () => {
    const fake = new FakeProducer();
    const producer = new MessageProducer(fake, { lingerMs: 20 });
    const a = settledState(producer.send('t1', [{ value: 'a1' }, { value: 'a2' }]));
    const b = settledState(producer.sendOne('t2', { key: 'k', value: 'b1', headers: { h: 'v' } }));
    const c = settledState(producer.sendOne('t1', { value: 'c1' }));
    await tick(60);
    expect(fake.batches).toHaveLength(1);
    expect(fake.batches[0].acks).toBe(-1);
    // Grouped by topic, order of the calls kept within each topic.
    expect(fake.contents(0)).toEqual(['t1:a1', 't1:a2', 't1:c1', 't2:b1']);
    expect(fake.batches[0].topicMessages![1].messages[0]).toEqual({ key: 'k', value: 'b1', headers: { h: 'v' } });
    // Nobody resolves before the broker acknowledged.
    expect([a.state, b.state, c.state]).toEqual(['pending', 'pending', 'pending']);
    fake.ack();
    await tick();
    expect([a.state, b.state, c.state]).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('does not wait for the linger once maxBatchSize records are queued', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 10_000, maxBatchSize: 3 });
    const started = Date.now();
    await Promise.all([producer.sendOne('t', { value: '1' }), producer.sendOne('t', { value: '2' }), producer.sendOne('t', { value: '3' })]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.batches).toHaveLength(1);
  });

  it('splits batches at maxBatchSize without splitting one call', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 5, maxBatchSize: 3, maxInFlightBatches: 4 });
    await Promise.all([
      producer.send('t', [{ value: 'a1' }, { value: 'a2' }]),
      producer.send('t', [{ value: 'b1' }, { value: 'b2' }]),
      producer.send('t', [{ value: 'c1' }, { value: 'c2' }, { value: 'c3' }, { value: 'c4' }]),
      producer.sendOne('t', { value: 'd1' }),
    ]);
    expect(fake.batches.map((_, i) => fake.contents(i))).toEqual([
      ['t:a1', 't:a2'],
      ['t:b1', 't:b2'],
      ['t:c1', 't:c2', 't:c3', 't:c4'],
      ['t:d1'],
    ]);
  });

  it('respects maxBatchBytes', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 5, maxBatchBytes: 1_000, maxInFlightBatches: 4 });
    const big = 'x'.repeat(600);
    await Promise.all([producer.sendOne('t', { value: 'small' }), producer.sendOne('t', { value: big }), producer.sendOne('t', { value: big })]);
    // The second big record would push the batch over 1 000 bytes: it goes in the next one.
    expect(fake.batches.map((b) => b.topicMessages![0].messages.map((m) => String(m.value).length))).toEqual([[5, 600], [600]]);
  });

  it('keeps one batch in flight and collects later sends into the next one', async () => {
    const fake = new FakeProducer();
    const producer = new MessageProducer(fake, { lingerMs: 1 });
    const first = settledState(producer.sendOne('t', { value: '1' }));
    await tick(20);
    expect(fake.batches).toHaveLength(1);
    const later = [2, 3, 4].map((i) => settledState(producer.sendOne('t', { value: String(i) })));
    await tick(20);
    expect(fake.batches).toHaveLength(1); // still waiting for the first ack
    fake.ack();
    await tick(5);
    expect(first.state).toBe('resolved');
    expect(later.map((s) => s.state)).toEqual(['pending', 'pending', 'pending']);
    expect(fake.batches).toHaveLength(2);
    expect(fake.contents(1)).toEqual(['t:2', 't:3', 't:4']);
    fake.ack();
    await tick();
    expect(later.map((s) => s.state)).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('rejects exactly the callers whose batch failed', async () => {
    const fake = new FakeProducer();
    const producer = new MessageProducer(fake, { lingerMs: 1 });
    const a = settledState(producer.sendOne('t', { value: 'a' }));
    const b = settledState(producer.sendOne('t', { value: 'b' }));
    await tick(20);
    const c = settledState(producer.sendOne('t', { value: 'c' }));
    fake.fail(new Error('NOT_ENOUGH_REPLICAS'));
    await tick(20);
    expect(a.state).toBe('rejected');
    expect(b.state).toBe('rejected');
    expect((a.error as Error).message).toBe('NOT_ENOUGH_REPLICAS');
    expect(c.state).toBe('pending');
    fake.ack();
    await tick();
    expect(c.state).toBe('resolved');
    expect(producer.health().lastError).toBeUndefined();
  });

  it('splits a batch that failed for one caller\'s record and retries per caller: only that caller fails', async () => {
    const seen: string[][] = [];
    const fake: KafkaProducerLike = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async (batch) => {
        const values = batch.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)));
        seen.push(values);
        if (values.includes('poison')) {
          throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
            name: 'KafkaJSProtocolError',
            type: 'MESSAGE_TOO_LARGE',
          });
        }
        return batch.topicMessages!.map((t) => ({ topicName: t.topic, partition: 0, errorCode: 0 }));
      },
    };
    const producer = new MessageProducer(fake, { lingerMs: 5 });
    const a = settledState(producer.sendOne('t', { value: 'tenant-a' }));
    const p = settledState(producer.sendOne('t', { value: 'poison' }));
    const b = settledState(producer.send('u', [{ value: 'tenant-b1' }, { value: 'tenant-b2' }]));
    await tick(50);
    expect(a.state).toBe('resolved');
    expect(b.state).toBe('resolved');
    expect(p.state).toBe('rejected');
    expect(seen).toEqual([['tenant-a', 'poison', 'tenant-b1', 'tenant-b2'], ['tenant-a'], ['poison'], ['tenant-b1', 'tenant-b2']]);
  });

  it('refuses a record over maxRecordBytes at once, as a permanent failure, without sending anything', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 0, maxRecordBytes: 1_000 });
    await expect(producer.sendOne('t', { value: 'x'.repeat(2_000) })).rejects.toMatchObject({ name: 'PermanentFailureError', message: expect.stringContaining('limit of 1000') });
    expect(fake.batches).toHaveLength(0);
    await expect(producer.sendOne('t', { value: 'small' })).resolves.toBeUndefined();
  });

  it('rejects when the broker reports a partition error code', async () => {
    const fake: KafkaProducerLike = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async () => [{ topicName: 't', partition: 1, errorCode: 6 }],
    };
    const producer = new MessageProducer(fake, { lingerMs: 0 });
    await expect(producer.sendOne('t', { value: 'x' })).rejects.toThrow(/t\[1\].*error code 6/);
  });

  it('connects lazily, retrying while the broker is down', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    fake.failConnects = 2;
    const producer = new MessageProducer(fake, { lingerMs: 0, connectBackoffMs: { initial: 5, max: 10 } });
    await producer.sendOne('t', { value: 'x' });
    expect(fake.connects).toBe(3);
    expect(producer.health()).toEqual({ connected: true });
  });

  it('resolves an empty send at once and rejects a missing topic', async () => {
    const fake = new FakeProducer();
    const producer = new MessageProducer(fake);
    await expect(producer.send('t', [])).resolves.toBeUndefined();
    await expect(producer.send('', [{ value: 'x' }])).rejects.toThrow(/topic/);
    expect(fake.batches).toHaveLength(0);
  });

  it('flushes on disconnect and refuses later sends', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 50 });
    await producer.connect();
    const pending = producer.sendOne('t', { value: 'last' });
    await producer.disconnect();
    await expect(pending).resolves.toBeUndefined();
    expect(fake.disconnected).toBe(true);
    await expect(producer.sendOne('t', { value: 'x' })).rejects.toThrow(/disconnected/);
  });

  it('coalesces a burst of many concurrent sends into few batches', async () => {
    const fake = new FakeProducer();
    fake.autoAck = true;
    const producer = new MessageProducer(fake, { lingerMs: 2, maxBatchSize: 500 });
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => producer.sendOne('t', { value: String(i) })));
    const total = fake.batches.reduce((n, b) => n + b.topicMessages![0].messages.length, 0);
    expect(total).toBe(2_000);
    expect(fake.batches.length).toBeLessThanOrEqual(5);
    // Order is kept across batches.
    const values = fake.batches.flatMap((b) => b.topicMessages![0].messages.map((m) => Number(m.value)));
    expect(values).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
  });
});
