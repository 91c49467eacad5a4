import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './load-config.js';
import { kafkaClientSettings, kafkaSecurityOf, kafkaSecuritySettings } from './shared-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'kafka-security-spec-'));
const ca = join(dir, 'ca.crt');
const cert = join(dir, 'client.crt');
const key = join(dir, 'client.key');
for (const f of [ca, cert, key]) writeFileSync(f, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = { KAFKA_BROKERS: 'k:9092' };
const load = (env: Record<string, string>) => loadConfig(kafkaClientSettings, { ...base, ...env });
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('Kafka security settings', () => {
  it('default to plaintext without authentication', () => {
    const c = load({});
    expect(c.KAFKA_SSL).toBe(false);
    expect(c.KAFKA_SSL_REJECT_UNAUTHORIZED).toBe(true);
    expect(kafkaSecurityOf(c)).toBeUndefined();
  });

  it('map TLS files and SASL to the client security', () => {
    const c = load({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SSL_CERT_FILE: cert,
      KAFKA_SSL_KEY_FILE: key,
      KAFKA_SSL_KEY_PASSWORD: 'key-passphrase',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'odis',
      KAFKA_SASL_PASSWORD: 'pw-123456',
    });
    expect(kafkaSecurityOf(c)).toEqual({
      ssl: { caFile: ca, certFile: cert, keyFile: key, keyPassword: 'key-passphrase', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'odis', password: 'pw-123456' },
    });
    // TLS alone (system CAs), and SCRAM without TLS (SASL_PLAINTEXT) are valid on their own.
    expect(kafkaSecurityOf(load({ KAFKA_SSL: 'yes', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }))).toEqual({
      ssl: { caFile: undefined, certFile: undefined, keyFile: undefined, keyPassword: undefined, rejectUnauthorized: false },
    });
    expect(kafkaSecurityOf(load({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }))).toEqual({
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
    });
  });

  it('name the setting of a mechanism without its user or password, never printing the password', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'hunter2-secret' })).toEqual([
      'KAFKA_SASL_USERNAME is required: needed with KAFKA_SASL_MECHANISM=plain',
    ]);
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toEqual([
      'KAFKA_SASL_PASSWORD is required: needed with KAFKA_SASL_MECHANISM=scram-sha-512',
    ]);
    const noMechanism = problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2-secret' });
    expect(noMechanism[0]).toMatch(/^KAFKA_SASL_MECHANISM is required: needed with KAFKA_SASL_USERNAME/);
    expect(noMechanism.join('\n')).not.toContain('hunter2-secret');
    expect(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })[0]).toMatch(/^KAFKA_SASL_MECHANISM="gssapi": must be one of plain, scram-sha-256, scram-sha-512/);
  });

  it('refuse PLAIN without TLS (it sends the password as it is)', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_MECHANISM="plain": plain sends the password as it is: only over TLS (KAFKA_SSL=true), or use scram-sha-512',
    ]);
  });

  it('name a file that does not exist or is not a file', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'nope.crt') })).toEqual([`KAFKA_SSL_CA_FILE="${join(dir, 'nope.crt')}": no such file`]);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: dir, KAFKA_SSL_KEY_FILE: key })).toEqual([`KAFKA_SSL_CERT_FILE="${dir}": is not a file`]);
  });

  it('name TLS files given without KAFKA_SSL, a certificate without its key and a key password without a key (hidden)', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: ca })).toEqual([`KAFKA_SSL_CA_FILE="${ca}": is only used over TLS: also set KAFKA_SSL=true`]);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert })).toEqual(['KAFKA_SSL_KEY_FILE is required: the private key of KAFKA_SSL_CERT_FILE is needed too']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: key })).toEqual(['KAFKA_SSL_CERT_FILE is required: the client certificate of KAFKA_SSL_KEY_FILE is needed too']);
    const p = problems({ KAFKA_SSL_KEY_PASSWORD: 'very-secret-pass' });
    expect(p).toContain('KAFKA_SSL_KEY_PASSWORD=(hidden, 16 characters): is only used over TLS: also set KAFKA_SSL=true');
    expect(p.join('\n')).not.toContain('very-secret-pass');
  });

  it('are checked by every definition that spreads them (the rule travels with the settings)', () => {
    expect(() => loadConfig({ ...kafkaSecuritySettings }, { KAFKA_SASL_USERNAME: 'u' })).toThrow(/KAFKA_SASL_MECHANISM is required/);
    expect(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_MECHANISM is required: needed with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (plain, scram-sha-256 or scram-sha-512)',
    ]);
  });
});
