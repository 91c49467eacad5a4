import { describe, it, expect } from '@jest/globals';
import { KAFKA_VERSION, KAFKA_JVM_OPTS, newClusterId, pomKafkaVersion, renderLog4jProperties, renderServerProperties, defaultKafkaLibsDir } from './kafka.js';
import { repoRoot } from './paths.js';

const parse = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('local Kafka configuration', () => {
  it('uses the version the pom fetches', () => {
    expect(pomKafkaVersion()).toBe(KAFKA_VERSION);
    expect(defaultKafkaLibsDir('/repo')).toBe(`/repo/.cache/kafka/${KAFKA_VERSION}/libs`);
    expect(repoRoot()).toMatch(/\S/);
  });

  it('renders a single-node KRaft broker+controller on loopback', () => {
    const p = parse(renderServerProperties({ port: 19092, controllerPort: 19093, logDirs: '/data/logs' }));
    expect(p).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092',
      'controller.listener.names': 'CONTROLLER',
      'log.dirs': '/data/logs',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
      'num.partitions': '3',
    });
    // static voters: no bootstrap servers (which would need `format --standalone`)
    expect(p['controller.quorum.bootstrap.servers']).toBeUndefined();
  });

  it('logs to a file in the data dir and keeps the JVM small', () => {
    expect(renderLog4jProperties('/data/kafka.log')).toContain('log4j.appender.file.File=/data/kafka.log');
    expect(KAFKA_JVM_OPTS).toEqual(expect.arrayContaining(['-Xmx512m', '-Xms256m', '-XX:+UseSerialGC']));
  });

  it('makes cluster ids in Kafka Uuid format', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});
