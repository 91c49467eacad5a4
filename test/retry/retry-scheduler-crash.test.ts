/**
 * The retry-scheduler as its own process (`node dist/apps/retry-scheduler/src/main.js`, after
 * `npm run build`), killed with SIGKILL while deliveries wait in the tiers, then started again:
 * every parked delivery fires, exactly once, never early; the ones due after the restart took
 * over fire on time (within 500 ms). Nothing was held in memory: the tiers and the group's
 * committed offsets are the whole state.
 *
 * The tier delays here are 10-16 s (not 1-4 s) so that part of the deliveries falls due after the
 * new process owns the partitions: a SIGKILLed member keeps its partitions until its session
 * times out (6 s, the broker's minimum), and deliveries due inside that window fire right after it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { RetrySchedule } from '@odis/config';
import { retryTierTopic, TOPICS } from '@odis/contracts';
import type { KafkaConnection } from '@odis/messaging';
import { waitFor } from '../support/infra.js';
import { brokers, collectTopic, connection, ensurePlatformTopics, makeJob, rawProducer, seedGroupAtEnd, unique, type Arrival } from './retry-test-kit.js';

const SCHEDULE = '0,10s,12s,14s,16s';
const schedule = RetrySchedule.parse(SCHEDULE);
const MAIN = join(process.cwd(), 'dist', 'apps', 'retry-scheduler', 'src', 'main.js');
const logDir = mkdtempSync(join(tmpdir(), 'retry-crash-'));

let conn: KafkaConnection;
let producer: Producer;
let collector: { arrivals: Arrival[]; stop: () => Promise<void> };
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Scheduler {
  child: ChildProcess;
  port: number;
  log: string;
}

async function spawnScheduler(groupId: string, name: string): Promise<Scheduler> {
  const port = await freePort();
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      KAFKA_BROKERS: brokers().join(','),
      WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
      RETRY_SCHEDULER_GROUP: groupId,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      PORT: String(port),
      LOG_LEVEL: 'log',
    },
    stdio: ['ignore', fd, fd],
  });
  children.push(child);
  return { child, port, log };
}

/** Partitions the process owns, from its /ready ("N partitions, M waiting"), or 0. */
async function ownedPartitions(s: Scheduler): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${s.port}/ready`).catch(() => null);
  if (!res || res.status !== 200) return 0;
  const body = (await res.json()) as { checks: Record<string, { detail?: string }> };
  return Number(/^(\d+) partitions/.exec(body.checks['tier-consumer']?.detail ?? '')?.[1] ?? 0);
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: run \`npm run build\` before the integration tests`);
  conn = connection();
  await ensurePlatformTopics(conn);
  producer = await rawProducer(conn);
  collector = await collectTopic(conn, TOPICS.deliveries);
}, 90_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited(child), new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
  await collector?.stop();
  await producer?.disconnect();
}, 60_000);

describe('retry-scheduler killed with SIGKILL', () => {
  it('loses nothing: after a restart every parked delivery fires once, when due', async () => {
    const groupId = unique('it-retry-crash');
    await seedGroupAtEnd(conn, groupId, schedule.topics);
    const first = await spawnScheduler(groupId, 'first');
    await waitFor(async () => (await ownedPartitions(first)) > 0, { timeoutMs: 60_000, intervalMs: 250, message: `first scheduler ready (log: ${first.log})` });

    // Park 32 deliveries across the four tiers: half due 3-4 s from now (inside the outage),
    // half due near the end of their tier's delay (after the restarted process took over).
    const t0 = Date.now();
    const jobs = Array.from({ length: 32 }, (_, i) => {
      const attempt = 2 + (i % 4);
      const tierDelay = schedule.tierForAttempt(attempt)!.delayMs;
      const dueIn = i % 8 < 4 ? 3_000 + i * 30 : tierDelay - 300 - (i % 3) * 100;
      return makeJob({ attempt, due_at: t0 + dueIn });
    });
    for (const attempt of [2, 3, 4, 5]) {
      // In a tier, records are written in due order (as the dispatcher writes them: failure time + one delay).
      const batch = jobs.filter((j) => j.attempt === attempt).sort((a, b) => a.due_at - b.due_at);
      await producer.send({ topic: retryTierTopic(attempt), acks: -1, messages: batch.map((j) => ({ key: j.subscription_id, value: JSON.stringify(j) })) });
    }
    await new Promise((r) => setTimeout(r, 1_000)); // the first process has read and deferred the heads
    const ids = new Set(jobs.map((j) => j.delivery_id));
    expect(collector.arrivals.filter((a) => ids.has(a.job.delivery_id))).toHaveLength(0);

    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');
    const killedAt = Date.now();

    const second = await spawnScheduler(groupId, 'second');
    const tookOverAt = await waitFor(async () => ((await ownedPartitions(second)) > 0 ? Date.now() : 0), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `restarted scheduler owns partitions (log: ${second.log})`,
    });

    const mine = () => collector.arrivals.filter((a) => ids.has(a.job.delivery_id));
    await waitFor(() => new Set(mine().map((a) => a.job.delivery_id)).size === jobs.length, {
      timeoutMs: 40_000,
      intervalMs: 200,
      message: 'every parked delivery fired',
    });
    await new Promise((r) => setTimeout(r, 1_000));

    const timeline = jobs
      .map((j) => ({ attempt: j.attempt, due: j.due_at - t0, at: (mine().find((a) => a.job.delivery_id === j.delivery_id)?.at ?? NaN) - t0 }))
      .sort((a, b) => a.due - b.due);
    process.stderr.write(`killed at +${killedAt - t0} ms, taken over at +${tookOverAt - t0} ms\n${timeline.map((x) => `  tier ${x.attempt} due +${x.due} fired +${x.at}`).join('\n')}\n`);
    let onTime = 0;
    for (const j of jobs) {
      const got = mine().filter((a) => a.job.delivery_id === j.delivery_id);
      expect(got).toHaveLength(1);
      const at = got[0]!.at;
      expect(at).toBeGreaterThanOrEqual(j.due_at);
      if (j.due_at > tookOverAt + 200) {
        onTime++;
        expect(at - j.due_at).toBeLessThanOrEqual(500);
      } else {
        expect(at).toBeGreaterThanOrEqual(killedAt); // nothing fired by the killed process
        expect(at - Math.max(j.due_at, tookOverAt)).toBeLessThanOrEqual(1_500);
      }
    }
    expect(onTime).toBeGreaterThanOrEqual(8);
    expect(readFileSync(second.log, 'utf8')).toContain('schedule 0,10s,12s,14s,16s');
  }, 120_000);
});
