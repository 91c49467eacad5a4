import { afterEach, describe, expect, it } from '@jest/globals';
import { KAFKA_HEADERS } from '@odis/contracts';
import type { ConsumerRunConfig, EachBatchPayload, KafkaMessage, ProducerBatch, RecordMetadata } from 'kafkajs';
import { ConsumerRunner, runnerReadiness, type ConsumerRunnerOptions } from './consumer-runner.js';
import { DependencyUnavailableError } from '@odis/platform';
import { MessageProducer, type KafkaProducerLike } from './message-producer.js';
import { Outcome, type MessageOutcome } from './message.types.js';

/**
 * Unit tests of the runner's batch logic with a fake kafkajs consumer: the test calls `eachBatch`
 * itself with a fake payload and watches resolveOffset/commit/pause/seek/resume.
 */
const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  REBALANCING: 'consumer.rebalancing',
} as const;

class FakeConsumer {
  readonly events = EVENTS;
  readonly listeners = new Map<string, Array<(e: unknown) => void>>();
  readonly calls: string[] = [];
  eachBatch: ConsumerRunConfig['eachBatch'] | undefined;
  assignment: Record<string, number[]>;

  constructor(assignment: Record<string, number[]>) {
    this.assignment = assignment;
  }
  on(event: string, listener: (e: unknown) => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }
  emit(event: string, payload: unknown) {
    for (const l of this.listeners.get(event) ?? []) l({ type: event, payload });
  }
  async connect() {}
  async subscribe() {}
  async run(config: ConsumerRunConfig) {
    expect(config.autoCommit).toBe(false);
    expect(config.eachBatchAutoResolve).toBe(false);
    this.eachBatch = config.eachBatch;
    this.emit(EVENTS.GROUP_JOIN, { memberAssignment: this.assignment });
  }
  async disconnect() {
    this.calls.push('disconnect');
  }
  pause(tps: Array<{ topic: string; partitions?: number[] }>) {
    this.calls.push(`pause ${tps[0].topic}[${tps[0].partitions ?? '*'}]`);
  }
  resume(tps: Array<{ topic: string; partitions: number[] }>) {
    this.calls.push(`resume ${tps[0].topic}[${tps[0].partitions}]`);
  }
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }) {
    this.calls.push(`seek ${topic}[${partition}]@${offset}`);
  }
}

class FakeKafkaProducer implements KafkaProducerLike {
  readonly batches: ProducerBatch[] = [];
  async connect() {}
  async disconnect() {}
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch);
    return [];
  }
}

function message(offset: number, value = `m${offset}`): KafkaMessage {
  return { key: Buffer.from('k'), value: Buffer.from(value), offset: String(offset), timestamp: '1700000000000', attributes: 0, headers: { h: Buffer.from('v') } };
}

function payload(topic: string, partition: number, offsets: number[], opts: { heartbeat?: () => Promise<void> } = {}) {
  const log = { resolved: [] as string[], commits: [] as string[], heartbeats: 0 };
  const messages = offsets.map((o) => message(o));
  const p = {
    batch: {
      topic,
      partition,
      messages,
      highWatermark: String(offsets[offsets.length - 1] + 1),
      lastOffset: () => String(offsets[offsets.length - 1]),
      firstOffset: () => String(offsets[0]),
    },
    resolveOffset: (o: string) => void log.resolved.push(o),
    heartbeat: async () => {
      log.heartbeats++;
      await opts.heartbeat?.();
    },
    commitOffsetsIfNecessary: async (offsets?: { topics: Array<{ partitions: Array<{ offset: string }> }> }) => {
      log.commits.push(offsets!.topics[0].partitions[0].offset);
    },
    uncommittedOffsets: () => ({ topics: [] }),
    isRunning: () => true,
    isStale: () => false,
    pause: () => () => undefined,
  } as unknown as EachBatchPayload;
  return { payload: p, log };
}

const runners: ConsumerRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

async function started(options: Partial<ConsumerRunnerOptions> & Pick<ConsumerRunnerOptions, 'handler'>, assignment = { t: [0, 1] }) {
  const consumer = new FakeConsumer(assignment);
  const kafkaProducer = new FakeKafkaProducer();
  const producer = new MessageProducer(kafkaProducer, { lingerMs: 0 });
  const source = { kafka: { consumer: () => consumer, producer: () => kafkaProducer } } as never;
  const runner = new ConsumerRunner(source, { groupId: 'g', topics: ['t'], retryBackoffMs: { initial: 1, max: 5 }, ...options }, { producer });
  await runner.start();
  runners.push(runner);
  return { runner, consumer, kafkaProducer };
}

async function waitUntil(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('ConsumerRunner batch handling (fake consumer)', () => {
  it('commits only the contiguous settled prefix with partitionConcurrency > 1', async () => {
    const gates = new Map([0, 1, 2, 3, 4, 5].map((o) => [String(o), gate()]));
    const started_: string[] = [];
    const { consumer } = await started({
      partitionConcurrency: 3,
      handler: async (m) => {
        started_.push(m.offset);
        await gates.get(m.offset)!.promise;
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [0, 1, 2, 3, 4, 5]);
    const running = consumer.eachBatch!(p);
    await new Promise((r) => setTimeout(r, 10));
    expect(started_).toEqual(['0', '1', '2']); // at most 3 in flight
    gates.get('1')!.open();
    gates.get('2')!.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(started_).toEqual(['0', '1', '2', '3', '4']);
    expect(log.commits).toEqual([]); // 0 still running
    gates.get('0')!.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(log.commits).toEqual(['3']);
    expect(log.resolved).toEqual(['2']);
    gates.get('4')!.open();
    gates.get('5')!.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(log.commits).toEqual(['3']); // 3 still running
    gates.get('3')!.open();
    await running;
    expect(log.commits[log.commits.length - 1]).toBe('6');
    expect(log.resolved[log.resolved.length - 1]).toBe('5');
  });

  it('defer: stops the batch, commits the prefix, pauses, seeks back and resumes at untilMs', async () => {
    const untilMs = Date.now() + 80;
    const seen: string[] = [];
    const { consumer, runner } = await started({
      handler: async (m): Promise<MessageOutcome> => {
        seen.push(m.offset);
        return m.offset === '12' ? Outcome.deferUntil(untilMs) : Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 1, [10, 11, 12, 13, 14]);
    await consumer.eachBatch!(p);
    expect(seen).toEqual(['10', '11', '12']);
    expect(log.commits[log.commits.length - 1]).toBe('12');
    expect(consumer.calls).toEqual(['pause t[1]', 'seek t[1]@12']);
    expect(runner.deferredPartitions()).toEqual([{ topic: 't', partition: 1, offset: '12', untilMs }]);
    // A batch of the paused partition arriving anyway is left alone.
    const stray = payload('t', 1, [12, 13]);
    await consumer.eachBatch!(stray.payload);
    expect(seen).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(Date.now()).toBeGreaterThanOrEqual(untilMs);
    expect(consumer.calls).toContain('resume t[1]');
    expect(runner.deferredPartitions()).toEqual([]);
  });

  it('retries a throwing handler, then dead-letters it with the reason and moves on', async () => {
    let calls = 0;
    const { consumer, kafkaProducer } = await started({
      maxRetries: 2,
      deadLetterTopic: 'dlq',
      handler: async (m) => {
        if (m.offset === '0') {
          calls++;
          throw new Error('schema mismatch');
        }
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [0, 1]);
    await consumer.eachBatch!(p);
    expect(calls).toBe(3);
    expect(log.commits[log.commits.length - 1]).toBe('2');
    const dead = kafkaProducer.batches.flatMap((b) => b.topicMessages!);
    expect(dead).toHaveLength(1);
    expect(dead[0].topic).toBe('dlq');
    expect(dead[0].messages[0].value).toEqual(Buffer.from('m0'));
    expect(dead[0].messages[0].headers).toMatchObject({
      h: 'v',
      [KAFKA_HEADERS.dlqReason]: 'schema mismatch',
      [KAFKA_HEADERS.dlqSourceTopic]: 't',
      [KAFKA_HEADERS.dlqSourcePartition]: '0',
      [KAFKA_HEADERS.dlqSourceOffset]: '0',
    });
  });

  it('dead-letters a permanent failure (a stack overflow) at once, without retries', async () => {
    let calls = 0;
    const { runner, consumer, kafkaProducer } = await started({
      maxRetries: 5,
      deadLetterTopic: 'dlq',
      handler: async (m) => {
        if (m.offset === '0') {
          calls++;
          throw new RangeError('Maximum call stack size exceeded');
        }
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [0, 1]);
    await consumer.eachBatch!(p);
    expect(calls).toBe(1);
    expect(log.commits[log.commits.length - 1]).toBe('2');
    const dead = kafkaProducer.batches.flatMap((b) => b.topicMessages!);
    expect(dead.map((d) => d.messages[0].headers![KAFKA_HEADERS.dlqReason])).toEqual(['Maximum call stack size exceeded']);
    expect(runner.stats()).toEqual({ outageRetries: 0, permanentFailures: 1, deadLettered: 1 });
  });

  it('waits out an outage however long it lasts: never dead-letters, shows it on health(), then completes', async () => {
    let calls = 0;
    const release = gate();
    const { runner, consumer, kafkaProducer } = await started({
      maxRetries: 1,
      deadLetterTopic: 'dlq',
      handler: async () => {
        calls++;
        if (calls <= 3) throw new DependencyUnavailableError('postgres', 'connect ECONNREFUSED');
        if (calls <= 6) return Outcome.retry('postgres', 'Query read timeout');
        await release.promise;
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [0]);
    const run = consumer.eachBatch!(p);
    await waitUntil(() => calls >= 7);
    expect(runnerReadiness(runner)).toMatchObject({ ok: false });
    // Still counts as waiting while its 7th try runs: the outage ends when the message completes.
    expect(runner.health().outages).toEqual([expect.objectContaining({ dependency: 'postgres', waiting: 1, reason: 'Query read timeout' })]);
    release.open();
    await run;
    expect(kafkaProducer.batches).toHaveLength(0);
    expect(log.commits[log.commits.length - 1]).toBe('1');
    expect(runner.stats()).toEqual({ outageRetries: 6, permanentFailures: 0, deadLettered: 0 });
    expect(runnerReadiness(runner)).toEqual({ ok: true });
  });

  it('reports a message waiting for a dependency on health() and readiness', async () => {
    let down = true;
    const { runner, consumer } = await started({
      retryBackoffMs: { initial: 5, max: 5 },
      handler: async () => (down ? Outcome.retry('postgres', 'connection refused') : Outcome.done()),
    });
    const { payload: p, log } = payload('t', 0, [0]);
    const run = consumer.eachBatch!(p);
    await waitUntil(() => runner.stats().outageRetries >= 2);
    expect(runner.health().outages).toEqual([expect.objectContaining({ dependency: 'postgres', waiting: 1, reason: 'connection refused' })]);
    expect(runnerReadiness(runner)).toEqual({ ok: false, detail: expect.stringContaining('waiting for postgres') });
    expect(log.commits).toEqual([]);
    down = false;
    await run;
    expect(runner.health().outages).toBeUndefined();
    expect(log.commits[log.commits.length - 1]).toBe('1');
  });

  it('a rebalance during retries abandons the message: nothing is committed for it', async () => {
    let rebalancing = false;
    const { consumer } = await started({
      maxRetries: 1_000,
      retryBackoffMs: { initial: 200, max: 200 },
      handler: async (m) => {
        if (m.offset === '1') throw new Error('down');
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [0, 1, 2], {
      heartbeat: async () => {
        if (rebalancing) throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
      },
    });
    setTimeout(() => (rebalancing = true), 300);
    const t0 = Date.now();
    await consumer.eachBatch!(p);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(log.commits).toEqual(['1']); // offset 0 only
    expect(log.resolved).toEqual(['0']);
  });

  it('drops the deferral of a partition lost in a rebalance and un-pauses it', async () => {
    const { consumer, runner } = await started({ handler: async () => Outcome.deferUntil(Date.now() + 60_000) });
    await consumer.eachBatch!(payload('t', 0, [0]).payload);
    await consumer.eachBatch!(payload('t', 1, [0]).payload);
    expect(runner.deferredPartitions().map((d) => d.partition)).toEqual([0, 1]);
    consumer.calls.length = 0;
    consumer.emit(EVENTS.GROUP_JOIN, { memberAssignment: { t: [1] } });
    expect(runner.deferredPartitions().map((d) => d.partition)).toEqual([1]);
    expect(consumer.calls).toEqual(['resume t[0]']);
    expect(runner.assignedPartitions()).toEqual(['t|1']);
    await runner.stop();
    expect(runner.deferredPartitions()).toEqual([]);
  });

  it('treats a handler returning nothing as done and a malformed outcome as a dead letter', async () => {
    const { consumer, kafkaProducer } = await started({
      handler: ((m: { offset: string }) => (m.offset === '1' ? { kind: 'maybe' } : undefined)) as never,
    });
    const { payload: p, log } = payload('t', 0, [0, 1, 2]);
    await consumer.eachBatch!(p);
    expect(log.commits[log.commits.length - 1]).toBe('3');
    const dead = kafkaProducer.batches.flatMap((b) => b.topicMessages!);
    expect(dead[0].topic).toBe('webhooks.dlq');
    expect(String(dead[0].messages[0].headers![KAFKA_HEADERS.dlqReason])).toMatch(/invalid outcome/);
  });

  it('stop() waits for in-flight handlers and commits them', async () => {
    const g = gate();
    const { consumer, runner } = await started({
      handler: async () => {
        await g.promise;
        return Outcome.done();
      },
    });
    const { payload: p, log } = payload('t', 0, [7]);
    const running = consumer.eachBatch!(p);
    await new Promise((r) => setTimeout(r, 10));
    const stopping = runner.stop();
    setTimeout(() => g.open(), 50);
    await running;
    await stopping;
    expect(log.commits).toEqual(['8']);
    expect(consumer.calls).toContain('disconnect');
    expect(runner.health().connected).toBe(false);
  });
});

describe('ConsumerRunner pipelined mode (fake consumer)', () => {
  const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

  it('returns batches at once, pauses a full partition, resumes it at half, commits only the settled prefix', async () => {
    const gates = new Map(Array.from({ length: 6 }, (_, o) => [String(o), gate()]));
    const { consumer } = await started({
      pipelined: true,
      partitionConcurrency: 4,
      commitIntervalMs: 0,
      handler: async (m) => {
        await gates.get(m.offset)!.promise;
        return Outcome.done();
      },
    });
    const first = payload('t', 0, [0, 1, 2, 3, 4, 5]);
    await consumer.eachBatch!(first.payload); // returns although nothing finished
    expect(first.log.resolved).toEqual(['0', '1', '2', '3']); // started = fetch position
    expect(consumer.calls).toEqual(['pause t[0]']);
    gates.get('1')!.open();
    gates.get('2')!.open();
    await tick();
    expect(first.log.commits).toEqual([]); // 0 still running
    expect(consumer.calls).toEqual(['pause t[0]', 'resume t[0]']); // drained to 2 = half
    // The refetch continues after the last started message.
    const second = payload('t', 0, [4, 5]);
    await consumer.eachBatch!(second.payload);
    expect(second.log.resolved).toEqual(['4', '5']);
    gates.get('0')!.open();
    await tick();
    expect(first.log.commits.concat(second.log.commits)).toEqual(['3']);
    for (const o of ['3', '4', '5']) gates.get(o)!.open();
    await tick();
    const all = first.log.commits.concat(second.log.commits);
    expect(all[all.length - 1]).toBe('6');
  });

  it('defer takes effect once the messages before it settled; later ones are handed over again', async () => {
    const release0 = gate();
    const untilMs = Date.now() + 60_000;
    const seen: string[] = [];
    const { consumer, runner } = await started({
      pipelined: true,
      partitionConcurrency: 5,
      commitIntervalMs: 0,
      handler: async (m): Promise<MessageOutcome> => {
        seen.push(m.offset);
        if (m.offset === '0') await release0.promise;
        if (m.offset === '1') return Outcome.deferUntil(untilMs);
        return Outcome.done();
      },
    });
    const b = payload('t', 0, [0, 1, 2, 3]);
    await consumer.eachBatch!(b.payload);
    await tick();
    expect(seen).toEqual(['0', '1', '2', '3']);
    expect(consumer.calls).toEqual(['pause t[0]']);
    expect(runner.deferredPartitions()).toEqual([]); // 0 still running
    release0.open();
    await tick();
    expect(consumer.calls).toEqual(['pause t[0]', 'pause t[0]', 'seek t[0]@1']);
    expect(b.log.commits[b.log.commits.length - 1]).toBe('1');
    expect(runner.deferredPartitions()).toEqual([{ topic: 't', partition: 0, offset: '1', untilMs }]);
    await runner.stop();
  });

  it('stop() waits for in-flight handlers, then commits and disconnects', async () => {
    const g = gate();
    const { consumer, runner } = await started({
      pipelined: true,
      partitionConcurrency: 2,
      commitIntervalMs: 60_000,
      handler: async () => {
        await g.promise;
        return Outcome.done();
      },
    });
    const b = payload('t', 1, [40, 41]);
    await consumer.eachBatch!(b.payload);
    const stopping = runner.stop();
    await tick(20);
    expect(consumer.calls).not.toContain('disconnect');
    g.open();
    await stopping;
    expect(b.log.commits[b.log.commits.length - 1]).toBe('42');
    expect(consumer.calls[consumer.calls.length - 1]).toBe('disconnect');
  });

  it('a rebalance lets in-flight handlers finish, commits them, and only then lets kafkajs rejoin', async () => {
    const g = gate();
    const { consumer } = await started({
      pipelined: true,
      partitionConcurrency: 3,
      commitIntervalMs: 60_000,
      handler: async (m) => {
        if (m.offset === '1') await g.promise;
        return Outcome.done();
      },
    });
    const b = payload('t', 0, [0, 1, 2]);
    await consumer.eachBatch!(b.payload);
    await tick();
    consumer.emit(EVENTS.REBALANCING, { memberId: 'm-1' });
    await tick();
    expect(b.log.commits).toEqual(['1']); // 0 settled (committed at once); 1 still running: not given up
    const late = payload('t', 0, [3]);
    await consumer.eachBatch!(late.payload); // a batch arriving meanwhile starts nothing
    expect(late.log.resolved).toEqual([]);
    g.open();
    await tick();
    // All three finished and were committed (through the latest payload) before the member rejoins.
    expect(b.log.commits.concat(late.log.commits)).toEqual(['1', '3']);
  });

  it('a rebalance waits at most rebalanceDrainMs, commits what settled and forgets the rest', async () => {
    const g = gate();
    const { consumer } = await started({
      pipelined: true,
      partitionConcurrency: 3,
      commitIntervalMs: 60_000,
      rebalanceDrainMs: 30,
      handler: async (m) => {
        if (m.offset === '1') await g.promise;
        return Outcome.done();
      },
    });
    const b = payload('t', 0, [0, 1, 2]);
    await consumer.eachBatch!(b.payload);
    await tick();
    consumer.emit(EVENTS.REBALANCING, { memberId: 'm-1' });
    await tick(60);
    expect(b.log.commits).toEqual(['1']);
    g.open();
    await tick();
    expect(b.log.commits).toEqual(['1']); // the old generation's late results do not count
  });
});
