import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { topicSpecs, type TopicSpec } from '@odis/contracts';
import { ensureTopics } from '@odis/messaging';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { brokers, connection, unique, withAdmin } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const { ConfigResourceTypes } = kafkajs;

async function configOf(admin: Admin, topic: string, names: string[]): Promise<Record<string, string>> {
  const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }] });
  return Object.fromEntries(r.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
}

describe('ensureTopics', () => {
  it('creates missing topics with partitions and configs, is idempotent, and realigns drifted configs', async () => {
    const conn = connection();
    const compacted = unique('it.ensure-compacted');
    const retained = unique('it.ensure-retained');
    const specs: TopicSpec[] = [
      { name: compacted, partitions: 3, config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' } },
      { name: retained, partitions: 2, config: { 'retention.ms': '3600000' } },
    ];

    const first = await ensureTopics(conn, specs, { replicationFactor: 1 });
    expect(first.created.sort()).toEqual([compacted, retained].sort());

    await withAdmin(conn.kafka, async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [compacted, retained] });
      const partitions = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({ [compacted]: 3, [retained]: 2 });
      expect(await configOf(admin, compacted, ['cleanup.policy'])).toEqual({ 'cleanup.policy': 'compact' });
      expect(await configOf(admin, retained, ['retention.ms'])).toEqual({ 'retention.ms': '3600000' });
    });

    // Second run (brokers list form): nothing to do.
    const second = await ensureTopics(brokers(), specs);
    expect(second).toEqual({ created: [], updated: [], unchanged: specs.map((s) => s.name), partitionMismatch: [] });

    // Someone changed a config by hand: it is put back.
    await withAdmin(conn.kafka, (admin) =>
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: retained, configEntries: [{ name: 'retention.ms', value: '1000' }] }] }),
    );
    await withAdmin(conn.kafka, async (admin) => {
      const third = await ensureTopics(admin, specs);
      expect(third.updated).toEqual([retained]);
      expect(await configOf(admin, retained, ['retention.ms'])).toEqual({ 'retention.ms': '3600000' });
    });

    // Fewer partitions than the spec is reported, not "fixed".
    const fourth = await ensureTopics(conn, [{ ...specs[1], partitions: 4 }]);
    expect(fourth.partitionMismatch).toEqual([{ topic: retained, actual: 2, expected: 4 }]);
  });

  it('runs concurrently from several processes without failing', async () => {
    const conn = connection();
    const specs: TopicSpec[] = Array.from({ length: 4 }, (_, i) => ({ name: unique(`it.ensure-race-${i}`), partitions: 1, config: {} }));
    const results = await Promise.all([ensureTopics(conn, specs, { replicationFactor: 1 }), ensureTopics(brokers(), specs, { replicationFactor: 1 })]);
    const created = results.flatMap((r) => r.created);
    // No topic is reported created by both.
    expect(new Set(created).size).toBe(created.length);
    await withAdmin(conn.kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      for (const s of specs) expect(existing.has(s.name)).toBe(true);
    });
  });

  const cli = join(process.cwd(), 'dist', 'libs', 'messaging', 'src', 'cli', 'ensure-topics.js');
  (existsSync(cli) ? it : it.skip)('the ensure-topics CLI creates every topic of the platform and exits 0', async () => {
    const run = () => spawnSync(process.execPath, [cli], { env: { ...process.env, NODE_OPTIONS: '', KAFKA_BROKERS: brokers().join(',') }, encoding: 'utf8', timeout: 90_000 });
    const first = run();
    expect(first.status).toBe(0);
    const second = run();
    expect(second.status).toBe(0);
    const conn = connection();
    await withAdmin(conn.kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      for (const spec of topicSpecs()) expect(existing.has(spec.name)).toBe(true);
    });
  });
});
