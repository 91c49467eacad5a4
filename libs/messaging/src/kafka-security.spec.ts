import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { TopicSpec } from '@odis/contracts';
import { authorizationErrorOf, ensureTopics, MissingTopicsError } from './ensure-topics.js';
import { kafkajsSecurity } from './kafka-connection.js';

const dir = mkdtempSync(join(tmpdir(), 'kafkajs-security-spec-'));
const ca = join(dir, 'ca.crt');
const cert = join(dir, 'client.crt');
const key = join(dir, 'client.key');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n');
writeFileSync(key, '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kafkajsSecurity', () => {
  it('is nothing for plaintext', () => {
    expect(kafkajsSecurity(undefined)).toEqual({});
  });

  it('reads the PEM files once into kafkajs ssl options, and passes SASL as it is', () => {
    const out = kafkajsSecurity({
      ssl: { caFile: ca, certFile: cert, keyFile: key, keyPassword: 'pp', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'odis', password: 'pw' },
    });
    expect(out.ssl?.rejectUnauthorized).toBe(true);
    expect((out.ssl?.ca as Buffer[])[0].toString()).toContain('MIIB');
    expect(String(out.ssl?.cert)).toContain('MIIC');
    expect(String(out.ssl?.key)).toContain('MHc');
    expect(out.ssl?.passphrase).toBe('pp');
    expect(out.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'odis', password: 'pw' });
    // TLS with the system CAs: no ca option at all (an empty list would trust nothing).
    expect(kafkajsSecurity({ ssl: { rejectUnauthorized: false } }).ssl).toEqual({ rejectUnauthorized: false });
  });

  it('names the setting of a file that is not PEM or cannot be read', () => {
    expect(() => kafkajsSecurity({ ssl: { caFile: key, rejectUnauthorized: true } })).toThrow(`KAFKA_SSL_CA_FILE="${key}": not a PEM file with a certificate`);
    expect(() => kafkajsSecurity({ ssl: { certFile: cert, keyFile: cert, rejectUnauthorized: true } })).toThrow('KAFKA_SSL_KEY_FILE');
    expect(() => kafkajsSecurity({ ssl: { caFile: join(dir, 'gone'), rejectUnauthorized: true } })).toThrow(/KAFKA_SSL_CA_FILE=".*gone": cannot be read \(ENOENT\)/);
  });
});

describe('ensureTopics with a user that may not create topics', () => {
  const specs: TopicSpec[] = [
    { name: 'a', partitions: 6, config: {} },
    { name: 'b', partitions: 6, config: {} },
    { name: 'c', partitions: 1, config: {} },
  ];
  const quiet = { log() {}, warn() {}, error() {} };
  const deniedAdmin = (existing: Record<string, number>, type = 'TOPIC_AUTHORIZATION_FAILED') =>
    ({
      listTopics: async () => Object.keys(existing),
      createTopics: async () => {
        throw Object.assign(new Error('Topic creation errors'), { errors: [{ type, message: 'Topic authorization failed' }] });
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: Array.from({ length: existing[name] }, (_, i) => ({ partitionId: i })) })),
      }),
    }) as unknown as Admin;

  it('finds the authorization error in kafkajs errors', () => {
    expect(authorizationErrorOf({ type: 'CLUSTER_AUTHORIZATION_FAILED' })).toBe('CLUSTER_AUTHORIZATION_FAILED');
    expect(authorizationErrorOf({ errors: [{ type: 'TOPIC_ALREADY_EXISTS' }, { type: 'TOPIC_AUTHORIZATION_FAILED' }] })).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(authorizationErrorOf(new Error('Connection error'))).toBeUndefined();
  });

  it('says exactly which topics are missing or have too few partitions', async () => {
    const error = await ensureTopics(deniedAdmin({ a: 6, b: 3 }, 'CLUSTER_AUTHORIZATION_FAILED'), specs, { logger: quiet }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingTopicsError);
    const e = error as MissingTopicsError;
    expect(e.missing).toEqual([{ topic: 'c', partitions: 1 }]);
    expect(e.tooFewPartitions).toEqual([{ topic: 'b', actual: 3, expected: 6 }]);
    expect(e.message).toContain('may not create topics (CLUSTER_AUTHORIZATION_FAILED) and 2 of the platform');
    expect(e.message).toContain('  - c: missing (needs 1 partitions)\n  - b: 3 partitions, needs 6');
  });

  it('other errors of createTopics still fail as they are', async () => {
    const admin = deniedAdmin({}, 'INVALID_REPLICATION_FACTOR');
    await expect(ensureTopics(admin, specs, { logger: quiet })).rejects.toThrow('Topic creation errors');
  });
});
