/**
 * A SASL_SSL listener for the local KRaft broker (docs/decisions/0016-kafka-security.md): a CA, a
 * broker certificate and a client certificate made at run time with openssl, the listener's
 * server.properties lines (PLAIN users in JAAS, SCRAM users given to `StorageTool format --add-scram`),
 * and the StandardAuthorizer with the admin user as super user.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** The SCRAM mechanisms every user gets credentials for (PLAIN comes from the listener's JAAS line). */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

export interface KafkaTlsFiles {
  dir: string;
  /** PEM: the CA that signed the broker's and the client's certificates (what clients trust). */
  caFile: string;
  /** PKCS12 keystore of the broker (its key and certificate chain), protected by `keystorePassword`. */
  keystoreFile: string;
  keystorePassword: string;
  /** PEM client certificate and key signed by the CA (for brokers that ask for one). */
  clientCertFile: string;
  clientKeyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await runCommand('openssl', args, { cwd, name: 'openssl', timeoutMs: 30_000 });
}

/**
 * A throwaway CA (2 days), a broker certificate for 127.0.0.1 and localhost, and a client certificate,
 * all P-256 (fast to make), under `dir`.
 */
export async function makeKafkaTlsFiles(dir: string): Promise<KafkaTlsFiles> {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=odis-local-kafka-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  const leaf = async (name: string, cn: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`],
      dir,
    );
  };
  await leaf('broker', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await leaf('client', 'odis-client', 'extendedKeyUsage=clientAuth\n');
  const keystorePassword = randomBytes(12).toString('hex');
  await openssl(
    ['pkcs12', '-export', '-in', 'broker.crt', '-inkey', 'broker.key', '-certfile', 'ca.crt', '-name', 'broker', '-out', 'broker.p12', '-passout', `pass:${keystorePassword}`],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    keystoreFile: join(dir, 'broker.p12'),
    keystorePassword,
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

export interface SaslSslListenerConfig {
  /** Port of the SASL_SSL listener. */
  port: number;
  tls: KafkaTlsFiles;
  /** user → password: each gets PLAIN (JAAS) and SCRAM-SHA-256/512 credentials. */
  users: Record<string, string>;
  /** Users that bypass ACLs (the admin); the PLAINTEXT and CONTROLLER listeners' ANONYMOUS is one too. */
  superUsers: string[];
}

const jaasQuote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The server.properties entries that add the SASL_SSL listener and the authorizer (merged into the
 * plaintext broker's: the PLAINTEXT listener stays the inter-broker one, loopback only).
 */
export function saslSslProperties(c: SaslSslListenerConfig): Record<string, string> {
  const plainUsers = Object.entries(c.users)
    .map(([user, password]) => `user_${user}=${jaasQuote(password)}`)
    .join(' ');
  return {
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': c.tls.keystoreFile,
    'ssl.keystore.password': c.tls.keystorePassword,
    'ssl.key.password': c.tls.keystorePassword,
    // A client certificate is verified when one is presented (KAFKA_SSL_CERT_FILE), not required.
    'ssl.client.auth': 'requested',
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': c.tls.caFile,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': ['ANONYMOUS', ...c.superUsers].map((u) => `User:${u}`).join(';'),
    'allow.everyone.if.no.acl.found': 'false',
  };
}

/** `StorageTool format` arguments that give every user both SCRAM credentials (KRaft keeps them in the metadata log). */
export function scramFormatArgs(users: Record<string, string>): string[] {
  for (const [user, password] of Object.entries(users)) {
    // StorageTool's `[name=…,password=…]` syntax has no escapes.
    if (/[\s,=\[\]"]/.test(user + password)) throw new Error(`SCRAM user ${user}: names and passwords may not hold spaces, commas, =, [ ] or quotes`);
  }
  return Object.entries(users).flatMap(([user, password]) =>
    SCRAM_MECHANISMS.flatMap((m) => ['--add-scram', `${m}=[name=${user},password=${password}]`]),
  );
}
