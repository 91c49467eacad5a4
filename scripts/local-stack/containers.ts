/**
 * Optional: Kafka and Postgres in containers (testcontainers) where a Docker engine answers. Not
 * exercised on the project's engine-less machines (see docs/decisions/0003); kept small on purpose.
 * testcontainers is a devDependency and is only imported here, lazily.
 */
import { findFreePort } from './ports.js';
import { waitForKafka, KAFKA_VERSION } from './kafka.js';
import { DEFAULT_DATABASE } from './postgres.js';

/** True when a container engine answers within `timeoutMs` (without one it rejects at once). */
export async function detectContainerRuntime(timeoutMs = 5_000): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('container runtime probe timed out')), timeoutMs);
    });
    try {
      await Promise.race([getContainerRuntimeClient(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return true;
  } catch {
    return false;
  }
}

export interface ContainerHandle {
  value: string;
  stop(): Promise<void>;
}

/** apache/kafka in KRaft mode; the host port is fixed up front so the advertised listener is right. */
export async function startKafkaContainer(): Promise<ContainerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await findFreePort();
  const container = await new GenericContainer(`apache/kafka:${KAFKA_VERSION}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_NUM_PARTITIONS: '3',
      KAFKA_HEAP_OPTS: '-Xmx512m -Xms256m',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const brokers = `127.0.0.1:${port}`;
  await waitForKafka(brokers, { timeoutMs: 60_000 });
  return { value: brokers, stop: async () => void (await container.stop()) };
}

export async function startPostgresContainer(): Promise<ContainerHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:15')
    .withExposedPorts(5432)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: DEFAULT_DATABASE })
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'])
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(120_000)
    .start();
  const url = `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/${DEFAULT_DATABASE}`;
  return { value: url, stop: async () => void (await container.stop()) };
}
