import { Logger, type LoggerService } from '@nestjs/common';
import type { TopicSpec } from '@odis/contracts';
import kafkajs from 'kafkajs';
import type { Admin, Kafka } from 'kafkajs';
import { backoffDelay, sleep, type BackoffOptions } from '@odis/config';
import { createKafka } from './kafka-connection.js';
import { describeError } from './message.types.js';

const { ConfigResourceTypes } = kafkajs;

export interface EnsureTopicsOptions {
  /** Replication factor of created topics. Default: the broker default (-1). */
  replicationFactor?: number;
  /** Alter the configs of existing topics whose values differ from the spec. Default true. */
  alterConfigs?: boolean;
  logger?: LoggerService;
}

export interface EnsureTopicsReport {
  created: string[];
  /** Existing topics whose configs were altered to match the spec. */
  updated: string[];
  unchanged: string[];
  /** Existing topics with fewer partitions than the spec (never changed automatically: it would move keys). */
  partitionMismatch: Array<{ topic: string; actual: number; expected: number }>;
  /**
   * Set when the Kafka user may not create topics (or not describe/alter their configs): the topics
   * were only checked to exist with enough partitions, and what could not be checked is said here.
   */
  restricted?: string;
}

/** Kafka's answers when the user lacks an ACL (createTopics, describeConfigs, alterConfigs). */
const AUTHORIZATION_ERRORS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED_ERROR']);

/** The authorization error kafkajs threw (directly or inside an aggregate of per-topic errors), if any. */
export function authorizationErrorOf(error: unknown): string | undefined {
  const e = error as { type?: string; errors?: Array<{ type?: string }> };
  if (e?.type && AUTHORIZATION_ERRORS.has(e.type)) return e.type;
  return Array.isArray(e?.errors) ? e.errors.find((x) => x?.type && AUTHORIZATION_ERRORS.has(x.type))?.type : undefined;
}

/** The topics a user who may not create them needs someone else to create or grow. */
export class MissingTopicsError extends Error {
  constructor(
    readonly missing: Array<{ topic: string; partitions: number }>,
    readonly tooFewPartitions: Array<{ topic: string; actual: number; expected: number }>,
    readonly denial: string,
  ) {
    const lines = [
      ...missing.map((m) => `  - ${m.topic}: missing (needs ${m.partitions} partitions)`),
      ...tooFewPartitions.map((m) => `  - ${m.topic}: ${m.actual} partitions, needs ${m.expected}`),
    ];
    super(
      `the Kafka user may not create topics (${denial}) and ${lines.length} of the platform's topics are not ready:\n${lines.join('\n')}\n` +
        'create them with a user that may (ensure-topics with an admin user), or grant this user Create on them',
    );
    this.name = 'MissingTopicsError';
  }
}

/** Anything with a kafkajs client (e.g. a `KafkaConnection`). */
export interface AdminSource {
  readonly kafka: Pick<Kafka, 'admin'>;
}

/**
 * Creates the topics of `specs` that do not exist (partitions + configs), and by default alters the
 * configs of existing ones to match. Idempotent, safe to run from several processes at once.
 * Partition counts of existing topics are never changed (adding partitions re-routes keys);
 * a topic with fewer partitions than specified is reported.
 */
export async function ensureTopics(
  target: Admin | AdminSource | string[],
  specs: TopicSpec[],
  options: EnsureTopicsOptions = {},
): Promise<EnsureTopicsReport> {
  const logger = options.logger ?? new Logger('ensureTopics');
  const { admin, owned } = toAdmin(target);
  const report: EnsureTopicsReport = { created: [], updated: [], unchanged: [], partitionMismatch: [] };
  if (owned) await admin.connect();
  try {
    const replicationFactor = options.replicationFactor ?? -1;
    const created = new Set<string>();
    let denied: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name) && !created.has(s.name));
      if (missing.length === 0) break;
      try {
        const createdAll = await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor,
            configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
          })),
        });
        // false: they all existed already (another process was faster); list again.
        if (createdAll) {
          for (const s of missing) created.add(s.name);
          break;
        }
        if (attempt >= 5) break;
        continue;
      } catch (error) {
        // A user that may not create topics: check that they exist instead (below), and say what is missing.
        denied = authorizationErrorOf(error);
        if (denied) {
          logger.warn(`may not create topics (${denied}): checking that they exist with enough partitions`);
          break;
        }
        // Another process created some of them in between: list again and create the rest.
        const errors = (error as { errors?: Array<{ type?: string }> }).errors;
        const raced = Array.isArray(errors) && errors.some((e) => e.type === 'TOPIC_ALREADY_EXISTS');
        if (!raced || attempt >= 5) throw error;
      }
    }
    report.created = [...created];
    if (report.created.length) logger.log(`created topics: ${report.created.join(', ')}`);

    if (denied) {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name)).map((s) => ({ topic: s.name, partitions: s.partitions }));
      const present = specs.filter((s) => existing.has(s.name));
      const metadata = present.length ? await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) }) : { topics: [] };
      const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
      const tooFew = present
        .map((s) => ({ topic: s.name, actual: partitionsOf.get(s.name) ?? 0, expected: s.partitions }))
        .filter((p) => p.actual < p.expected);
      if (missing.length || tooFew.length) throw new MissingTopicsError(missing, tooFew, denied);
    }

    const others = specs.filter((s) => !created.has(s.name));
    if (others.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: others.map((s) => s.name) });
      const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
      let described: Awaited<ReturnType<Admin['describeConfigs']>>;
      try {
        described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: others.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(s.config) })),
        });
      } catch (error) {
        const denial = authorizationErrorOf(error);
        if (!denial) throw error;
        // May read and write topics but not their configs: the partitions are checked, the configs are someone else's.
        report.restricted = `topic configs not checked (${denial} on DescribeConfigs)`;
        logger.warn(report.restricted);
        for (const spec of others) {
          const actual = partitionsOf.get(spec.name) ?? 0;
          if (actual < spec.partitions) {
            report.partitionMismatch.push({ topic: spec.name, actual, expected: spec.partitions });
            logger.warn(`topic ${spec.name} has ${actual} partitions, spec says ${spec.partitions}; left as is`);
          }
          report.unchanged.push(spec.name);
        }
        return report;
      }
      const actualConfigs = new Map(
        described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))]),
      );
      const toAlter: TopicSpec[] = [];
      for (const spec of others) {
        const actualPartitions = partitionsOf.get(spec.name) ?? 0;
        if (actualPartitions < spec.partitions) {
          report.partitionMismatch.push({ topic: spec.name, actual: actualPartitions, expected: spec.partitions });
          logger.warn(`topic ${spec.name} has ${actualPartitions} partitions, spec says ${spec.partitions}; left as is`);
        }
        const actual = actualConfigs.get(spec.name) ?? new Map<string, string>();
        const differs = Object.entries(spec.config).some(([name, value]) => actual.get(name) !== value);
        if (differs && options.alterConfigs !== false) toAlter.push(spec);
        else report.unchanged.push(spec.name);
      }
      if (toAlter.length > 0) {
        // AlterConfigs replaces a topic's dynamic configs with the given set: the spec is that set.
        try {
          await admin.alterConfigs({
            validateOnly: false,
            resources: toAlter.map((s) => ({
              type: ConfigResourceTypes.TOPIC,
              name: s.name,
              configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
            })),
          });
          report.updated = toAlter.map((s) => s.name);
          logger.log(`altered configs of: ${report.updated.join(', ')}`);
        } catch (error) {
          const denial = authorizationErrorOf(error);
          if (!denial) throw error;
          report.restricted = `may not alter topic configs (${denial}); differing from the spec: ${toAlter.map((t) => t.name).join(', ')}`;
          logger.warn(report.restricted);
          report.unchanged.push(...toAlter.map((t) => t.name));
        }
      }
    }
    if (denied && !report.restricted) report.restricted = `may not create topics (${denied}); every topic exists with enough partitions`;
    return report;
  } finally {
    if (owned) await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Waits until a broker answers an admin call (the cluster is up), retrying with backoff until
 * `timeoutMs` has passed.
 */
export async function waitForKafka(
  target: Admin | AdminSource | string[],
  options: { timeoutMs?: number; backoffMs?: BackoffOptions; logger?: LoggerService } = {},
): Promise<void> {
  const logger = options.logger ?? new Logger('waitForKafka');
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const backoff = options.backoffMs ?? { initial: 250, max: 5_000 };
  for (let attempt = 1; ; attempt++) {
    const { admin, owned } = toAdmin(target);
    try {
      if (owned) await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`Kafka not reachable: ${describeError(error)}`);
      const delay = Math.min(backoffDelay(attempt, backoff, 0.2), Math.max(0, deadline - Date.now()));
      logger.log(`waiting for Kafka (attempt ${attempt}): ${describeError(error)}; next try in ${delay} ms`);
      await sleep(delay);
    } finally {
      if (owned) await admin.disconnect().catch(() => undefined);
    }
  }
}

function toAdmin(target: Admin | AdminSource | string[]): { admin: Admin; owned: boolean } {
  if (Array.isArray(target)) {
    const kafka = createKafka({ brokers: target, clientId: 'odis-ensure-topics', logLevel: 'nothing', retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 } });
    return { admin: kafka.admin(), owned: true };
  }
  if ('kafka' in target) return { admin: target.kafka.admin(), owned: true };
  return { admin: target, owned: false };
}
