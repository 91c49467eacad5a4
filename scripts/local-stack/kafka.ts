/**
 * A single-node KRaft Kafka broker without Docker: the broker's jars come from Maven Central
 * (infra/kafka/pom.xml), cached in <repo>/.cache/kafka/<version>/libs, and run with the JDK.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync, writeFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import kafkajs from 'kafkajs';
import { processes, runCommand, type ManagedProcess } from './processes.js';
import { findFreePort } from './ports.js';
import { retryUntil } from './wait.js';
import { repoRoot, tailFile, defaultLog, type Log } from './paths.js';
import { makeKafkaTlsFiles, saslSslProperties, scramFormatArgs, type SaslSslListenerConfig } from './kafka-security.js';

const { Kafka, logLevel } = kafkajs;

/** Must match <kafka.version> in infra/kafka/pom.xml (a unit spec checks it). */
export const KAFKA_VERSION = '3.9.1';
const MARKER = '.complete';

export interface KafkaJarsOptions {
  /** Default: the repository root. */
  root?: string;
  /** Where the jars go. Default: <root>/.cache/kafka/<version>/libs. */
  libsDir?: string;
  /** Maven local repository (`-Dmaven.repo.local`), e.g. to measure a cold fetch. */
  mavenRepoLocal?: string;
  log?: Log;
}

export function defaultKafkaLibsDir(root = repoRoot()): string {
  return join(root, '.cache', 'kafka', KAFKA_VERSION, 'libs');
}

/** True when the jar cache is complete (marker written after a successful copy). */
export function kafkaJarsPresent(libsDir = defaultKafkaLibsDir()): boolean {
  return existsSync(join(libsDir, MARKER));
}

/**
 * Fetch the broker's runtime jars with Maven unless they are cached. The copy goes to a temp folder that
 * is renamed into place, so a concurrent or interrupted run never leaves a half-filled libs folder.
 * Returns the libs folder.
 */
export async function ensureKafkaJars(options: KafkaJarsOptions = {}): Promise<string> {
  const root = options.root ?? repoRoot();
  const libsDir = resolve(options.libsDir ?? defaultKafkaLibsDir(root));
  const log = options.log ?? defaultLog;
  if (kafkaJarsPresent(libsDir)) return libsDir;
  const pom = join(root, 'infra', 'kafka', 'pom.xml');
  if (!existsSync(pom)) throw new Error(`missing ${pom}`);
  const tmp = `${libsDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  log(`[kafka] fetching Kafka ${KAFKA_VERSION} jars with Maven (once; cached in ${libsDir})`);
  const args = ['-B', '-q', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`];
  if (options.mavenRepoLocal) args.push(`-Dmaven.repo.local=${options.mavenRepoLocal}`);
  try {
    await runCommand('mvn', args, { cwd: root, timeoutMs: 10 * 60_000, name: 'mvn' });
    const jars = readdirSync(tmp).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
      throw new Error(`maven copied ${jars.length} jars but not kafka_2.13-${KAFKA_VERSION}.jar`);
    }
    writeFileSync(join(tmp, MARKER), `${new Date().toISOString()} ${jars.length} jars\n`);
    if (kafkaJarsPresent(libsDir)) {
      rmSync(tmp, { recursive: true, force: true }); // someone else finished first
    } else {
      rmSync(libsDir, { recursive: true, force: true }); // an incomplete leftover
      renameSync(tmp, libsDir);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    if (e.message?.includes('could not start mvn')) {
      throw new Error('Maven (`mvn`) is needed to fetch the Kafka broker jars: apt-get install -y maven', { cause: err });
    }
    throw err;
  }
  log(`[kafka] jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libsDir;
}

export interface KafkaServerConfig {
  nodeId?: number;
  port: number;
  controllerPort: number;
  logDirs: string;
  host?: string;
  /** Adds a SASL_SSL listener (and the ACL authorizer) next to the PLAINTEXT one. */
  saslSsl?: SaslSslListenerConfig;
}

/** server.properties of a single-node KRaft broker+controller, sized for a 2-core dev machine. */
export function renderServerProperties(c: KafkaServerConfig): string {
  const host = c.host ?? '127.0.0.1';
  const nodeId = c.nodeId ?? 1;
  const sasl = c.saslSsl ? `,SASL_SSL://${host}:${c.saslSsl.port}` : '';
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    'controller.quorum.voters': `${nodeId}@${host}:${c.controllerPort}`,
    listeners: `PLAINTEXT://${host}:${c.port},CONTROLLER://${host}:${c.controllerPort}${sasl}`,
    'advertised.listeners': `PLAINTEXT://${host}:${c.port}${sasl}`,
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${c.saslSsl ? ',SASL_SSL:SASL_SSL' : ''}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': c.logDirs,
    'num.partitions': 3,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'auto.create.topics.enable': false,
    'delete.topic.enable': true,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    // Be kind to 2 shared cores.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'log.cleaner.threads': 1,
    'log.cleaner.dedupe.buffer.size': 16 * 1024 * 1024,
    // Retention is checked at Kafka's default pace (a dev broker has little to delete; each check walks every log).
    'log.retention.check.interval.ms': 300_000,
    // Compacted changelogs (webhooks.subscriptions) get cleaned in a dev-sized window.
    'log.cleaner.backoff.ms': 5_000,
    // At rest the KRaft controller appends a no-op record to the metadata log every 500 ms by default
    // (its liveness signal to other voters; this one-node quorum has none): every 10 s is plenty.
    'metadata.max.idle.interval.ms': 10_000,
    ...(c.saslSsl ? saslSslProperties(c.saslSsl) : {}),
  };
  return (
    '# generated by scripts/local-stack/kafka.ts\n' +
    Object.entries(props)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n') +
    '\n'
  );
}

/** reload4j (log4j 1.x) configuration: everything to one file, nothing on stdout. */
export function renderLog4jProperties(logFile: string): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.Append=true',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.log.LogCleaner=WARN',
    'log4j.logger.org.apache.kafka.clients=WARN',
    '',
  ].join('\n');
}

/** JVM flags: small heap, serial GC, C1 only — startup speed and little CPU over peak throughput. */
export const KAFKA_JVM_OPTS = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:MaxMetaspaceSize=256m',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
];

/** A cluster id in Kafka's format: 16 random bytes, base64url without padding (22 chars). */
export function newClusterId(): string {
  const id = randomBytes(16);
  id[0] &= 0x7f; // Kafka rejects ids that start with '-'; clearing the top bit avoids it.
  return id.toString('base64url');
}

/** Poll the broker with a kafkajs admin call until it answers, or throw after `timeoutMs`. */
export async function waitForKafka(brokers: string, options: { timeoutMs?: number; abort?: () => string | undefined } = {}): Promise<void> {
  const kafka = new Kafka({
    clientId: 'local-stack-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 0 },
  });
  await retryUntil(
    async () => {
      const admin = kafka.admin();
      const producer = kafka.producer({ idempotent: true, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        await admin.listTopics();
        // Group coordination too (this creates __consumer_offsets), so the first consumer of an app or a
        // test does not meet "The group coordinator is not available".
        await admin.describeGroups(['local-stack-probe']);
        // …and the producer-id coordinator that idempotent producers need at connect (InitProducerId).
        await producer.connect();
        return cluster.brokers.length > 0;
      } finally {
        await producer.disconnect().catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
      }
    },
    { timeoutMs: options.timeoutMs ?? 90_000, initialDelayMs: 250, maxDelayMs: 2_000, what: `kafka at ${brokers}`, abort: options.abort },
  );
}

export interface KafkaOptions {
  /** Broker data, config and kafka.log live here; an already formatted dir is reused. */
  dataDir: string;
  /** PLAINTEXT port (default: a free one). */
  port?: number;
  controllerPort?: number;
  libsDir?: string;
  readyTimeoutMs?: number;
  log?: Log;
  /**
   * Also listen with SASL_SSL (certificates made under `<dataDir>/tls`), with these users (name →
   * password; PLAIN and SCRAM-SHA-256/512 each) and the ACL authorizer; `superUsers` bypass the ACLs.
   * SCRAM credentials are written when the storage is formatted: use a fresh `dataDir`.
   */
  saslSsl?: { users: Record<string, string>; superUsers: string[]; port?: number };
}

/** The SASL_SSL side of a broker started with `saslSsl`. */
export interface KafkaSaslSslEndpoint {
  brokers: string;
  port: number;
  /** PEM CA that signed the broker's certificate (`KAFKA_SSL_CA_FILE`). */
  caFile: string;
  /** A client certificate and key the broker accepts (`KAFKA_SSL_CERT_FILE`, `KAFKA_SSL_KEY_FILE`). */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface KafkaHandle {
  /** The PLAINTEXT listener (with `saslSsl`: unauthenticated and a super user, for test set-up only). */
  brokers: string;
  saslSsl?: KafkaSaslSslEndpoint;
  port: number;
  dataDir: string;
  logFile: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startKafka(options: KafkaOptions): Promise<KafkaHandle> {
  const log = options.log ?? defaultLog;
  const dataDir = resolve(options.dataDir);
  const libsDir = options.libsDir ?? (await ensureKafkaJars({ log }));
  const classpath = `${libsDir}/*`;
  const port = options.port ?? (await findFreePort());
  const controllerPort = options.controllerPort ?? (await findFreePort());
  const logDirs = join(dataDir, 'logs');
  const logFile = join(dataDir, 'kafka.log');
  const configFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j.properties');
  mkdirSync(dataDir, { recursive: true });
  let saslSsl: SaslSslListenerConfig | undefined;
  if (options.saslSsl) {
    const tls = await makeKafkaTlsFiles(join(dataDir, 'tls'));
    saslSsl = { port: options.saslSsl.port ?? (await findFreePort()), tls, users: options.saslSsl.users, superUsers: options.saslSsl.superUsers };
  }
  writeFileSync(configFile, renderServerProperties({ port, controllerPort, logDirs, saslSsl }));
  writeFileSync(log4jFile, renderLog4jProperties(logFile));
  const jvm = [...KAFKA_JVM_OPTS, `-Dlog4j.configuration=file:${log4jFile}`, `-Dkafka.logs.dir=${dataDir}`];

  if (!existsSync(join(logDirs, 'meta.properties'))) {
    const clusterId = newClusterId();
    await runCommand('java', [...jvm, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile, ...(saslSsl ? scramFormatArgs(saslSsl.users) : [])], {
      name: 'kafka-storage-format',
      timeoutMs: 60_000,
    });
  } else {
    log(`[kafka] reusing formatted storage in ${logDirs}`);
  }

  const proc = processes.spawn('kafka', 'java', [...jvm, '-cp', classpath, 'kafka.Kafka', configFile], {
    cwd: dataDir,
    logFile: join(dataDir, 'kafka.stdout.log'),
  });
  const brokers = `127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop({ signal: 'SIGTERM', timeoutMs: 15_000 });
  };
  try {
    await waitForKafka(brokers, {
      timeoutMs: options.readyTimeoutMs ?? 90_000,
      abort: () => (proc.exitInfo ? `broker exited with ${proc.exitInfo.code ?? proc.exitInfo.signal}` : undefined),
    });
  } catch (err) {
    await stop();
    const stdoutTail = tailFile(join(dataDir, 'kafka.stdout.log'), 20);
    throw new Error(`${(err as Error).message}\n--- tail of ${logFile} ---\n${tailFile(logFile, 40)}\n--- stdout ---\n${stdoutTail}`);
  }
  const endpoint: KafkaSaslSslEndpoint | undefined = saslSsl && {
    brokers: `127.0.0.1:${saslSsl.port}`,
    port: saslSsl.port,
    caFile: saslSsl.tls.caFile,
    clientCertFile: saslSsl.tls.clientCertFile,
    clientKeyFile: saslSsl.tls.clientKeyFile,
  };
  return { brokers, saslSsl: endpoint, port, dataDir, logFile, process: proc, stop };
}

/** The pom's <kafka.version>, for the consistency check. */
export function pomKafkaVersion(root = repoRoot()): string | undefined {
  const pom = readFileSync(join(root, 'infra', 'kafka', 'pom.xml'), 'utf8');
  return /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
}
