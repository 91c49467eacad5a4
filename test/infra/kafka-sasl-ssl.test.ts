/**
 * The platform over a SASL_SSL broker (docs/decisions/0016-kafka-security.md): a broker of its own
 * (own ports and dir, certificates made by openssl at its start, the ACL authorizer), the topic
 * bootstrap with a user that may not create topics, then event-ingest → dispatcher → a real receiver
 * with SCRAM-SHA-512 and a client certificate, from the apps' own settings. PLAIN and SCRAM-SHA-256
 * connect too; a wrong password and a client without the CA fail with a clear error.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import kafkajs from 'kafkajs';
import { kafkaSecurityOf, kafkaSecuritySettings, loadConfig, type KafkaSecurity } from '@odis/config';
import { EVENT_TYPES, SEED_EXAMPLES, serializeWebhookPayload, TOPICS, topicSpecs, type SubscriptionSnapshot } from '@odis/contracts';
import { ensureTopics, KafkaConnection, MessageProducer } from '@odis/messaging';
import { startTestReceiver, verifyOdisSignature, type TestReceiver } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startKafka, type KafkaHandle } from '../../scripts/local-stack/kafka.js';
import { appEnv, baseUrl, box, suffix, TEST_INGEST_TOKEN, waitReady, waitRouted } from '../dispatch/support.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const ADMIN_PASSWORD = `admin-${suffix()}`;
const RESTRICTED_PASSWORD = `restricted-${suffix()}`;

describe('Kafka over SASL_SSL (own broker)', () => {
  let dir: string;
  let broker: KafkaHandle;
  /** The settings every app gets: TLS with our CA and a client certificate, SCRAM-SHA-512 as the admin user. */
  let securityEnv: Record<string, string>;

  const connect = (env: Record<string, string>, clientId = `it-sasl-${suffix()}`) => {
    const security = kafkaSecurityOf(loadConfig(kafkaSecuritySettings, env)) as KafkaSecurity;
    return new KafkaConnection({ brokers: [broker.saslSsl!.brokers], clientId, logLevel: 'nothing', security, retry: { retries: 0 } });
  };

  /** ensure-topics (the CLI, from dist/) with the given settings; its exit code and output. */
  const ensureTopicsCli = (env: Record<string, string>) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      const cli = join(process.cwd(), 'dist/libs/messaging/src/cli/ensure-topics.js');
      const childEnv = { ...process.env, NODE_OPTIONS: '', KAFKA_BROKERS: broker.saslSsl!.brokers, KAFKA_WAIT_TIMEOUT_MS: '10000', KAFKA_LOG_LEVEL: 'nothing', ...env };
      execFile(process.execPath, [cli], { env: childEnv, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odis-sasl-'));
    broker = await startKafka({
      dataDir: dir,
      saslSsl: { users: { admin: ADMIN_PASSWORD, restricted: RESTRICTED_PASSWORD }, superUsers: ['admin'] },
      log: () => undefined,
    });
    const tls = broker.saslSsl!;
    securityEnv = {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: tls.caFile,
      KAFKA_SSL_CERT_FILE: tls.clientCertFile,
      KAFKA_SSL_KEY_FILE: tls.clientKeyFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'admin',
      KAFKA_SASL_PASSWORD: ADMIN_PASSWORD,
    };
    // The restricted user may read, write and describe every topic and use every group, but create nothing.
    const setup = new kafkajs.Kafka({ clientId: 'it-sasl-acl', brokers: [broker.brokers], logLevel: kafkajs.logLevel.NOTHING });
    const admin = setup.admin();
    await admin.connect();
    const allow = (resourceType: number, operation: number) => ({
      resourceType,
      resourceName: '*',
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:restricted',
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        ...[AclOperationTypes.READ, AclOperationTypes.WRITE, AclOperationTypes.DESCRIBE].map((op) => allow(AclResourceTypes.TOPIC, op)),
        ...[AclOperationTypes.READ, AclOperationTypes.DESCRIBE].map((op) => allow(AclResourceTypes.GROUP, op)),
      ],
    });
    await admin.disconnect();
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('bootstraps topics with a user that may not create them: names what is missing, then passes once they exist', async () => {
    const restricted = {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: broker.saslSsl!.caFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'restricted',
      KAFKA_SASL_PASSWORD: RESTRICTED_PASSWORD,
    };
    const before = await ensureTopicsCli(restricted);
    expect(before.code).toBe(1);
    expect(before.output).toMatch(/may not create topics \((TOPIC|CLUSTER)_AUTHORIZATION_FAILED\)/);
    for (const spec of topicSpecs()) expect(before.output).toContain(`- ${spec.name}: missing (needs ${spec.partitions} partitions)`);
    expect(before.output).not.toContain(RESTRICTED_PASSWORD);

    // The admin creates them (over SASL_SSL, SCRAM-SHA-512, client certificate) …
    const report = await ensureTopics(connect(securityEnv), topicSpecs(), { replicationFactor: 1, logger: { log() {}, warn() {}, error() {} } });
    expect(report.created.sort()).toEqual(topicSpecs().map((s) => s.name).sort());

    // … then the restricted user's bootstrap passes, saying what it could not check.
    const after = await ensureTopicsCli(restricted);
    expect(after.output).toContain('topic configs not checked');
    expect(after.code).toBe(0);
    // Fewer partitions than asked for: named with both counts (left as is, as for any user: adding partitions moves keys).
    const grown = await ensureTopicsCli({ ...restricted, KAFKA_PARTITIONS: '8' });
    expect(grown.output).toContain(`topic ${TOPICS.callStarted} has 6 partitions, spec says 8`);
  }, 60_000);

  it('runs the whole path over SASL_SSL with SCRAM-SHA-512: event-ingest → dispatcher → a signed POST', async () => {
    let ingest: INestApplication | undefined;
    let dispatcher: INestApplication | undefined;
    let receiver: TestReceiver | undefined;
    const producer = new MessageProducer(connect(securityEnv), { lingerMs: 1 });
    try {
      const tag = suffix();
      const env = appEnv(`sasl-${tag}`, { ...securityEnv, KAFKA_BROKERS: broker.saslSsl!.brokers });
      dispatcher = await startDispatcher(loadDispatcherConfig(env));
      ingest = await startEventIngest(loadIngestConfig(env));
      const dispatcherUrl = baseUrl(dispatcher);
      const ingestUrl = baseUrl(ingest);
      await Promise.all([waitReady(dispatcherUrl), waitReady(ingestUrl)]);

      receiver = await startTestReceiver();
      const accountId = `acct_sasl_${tag}`;
      const id = `wh_sasl_${tag}`;
      const secret = `secret_${tag}`;
      const snapshot: SubscriptionSnapshot = {
        v: 1,
        id,
        account_id: accountId,
        url: `${receiver.url}/hook`,
        events: [...EVENT_TYPES],
        status: 'active',
        secret_encrypted: box.encrypt(secret, id),
        version: 1,
        updated_at: new Date().toISOString(),
      };
      await producer.sendOne(TOPICS.subscriptions, { key: id, value: JSON.stringify(snapshot) });
      await waitRouted(dispatcherUrl, id);

      const res = await fetch(`${ingestUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: accountId }),
      });
      expect(res.status).toBe(202);
      const { event_id } = (await res.json()) as { event_id: string };
      await receiver.waitForCount(1, 30_000);
      const req = receiver.requests[0];
      expect(req.headers['x-odis-event-id']).toBe(event_id);
      expect(req.body.toString()).toBe(serializeWebhookPayload(SEED_EXAMPLES['call.started']));
      expect(verifyOdisSignature(req.body, String(req.headers['x-odis-signature']), secret)).toBe(true);
      await producer.sendOne(TOPICS.subscriptions, { key: id, value: null });
    } finally {
      await Promise.allSettled([ingest?.close(), dispatcher?.close(), receiver?.close()]);
      await producer.disconnect();
    }
  }, 60_000);

  it('connects with PLAIN and SCRAM-SHA-256 too', async () => {
    for (const mechanism of ['plain', 'scram-sha-256']) {
      const admin = connect({ ...securityEnv, KAFKA_SASL_MECHANISM: mechanism }).kafka.admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).toContain(TOPICS.callStarted);
      } finally {
        await admin.disconnect();
      }
    }
  }, 30_000);

  it('fails with a clear error on a wrong password, and over TLS without the CA', async () => {
    const wrong = connect({ ...securityEnv, KAFKA_SASL_PASSWORD: 'not-the-password' }).kafka.admin();
    await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/i);

    const { KAFKA_SSL_CA_FILE: _ca, ...withoutCa } = securityEnv;
    const untrusted = connect(withoutCa).kafka.admin();
    await expect(untrusted.connect()).rejects.toThrow(/self[- ]signed|unable to (verify|get local issuer)/i);
  }, 30_000);
});
