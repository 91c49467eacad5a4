import { describe, expect, it } from '@jest/globals';
import { renderServerProperties } from './kafka.js';
import { scramFormatArgs } from './kafka-security.js';

const parse = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

const tls = { dir: '/d/tls', caFile: '/d/tls/ca.crt', keystoreFile: '/d/tls/broker.p12', keystorePassword: 'kspw', clientCertFile: '/d/tls/client.crt', clientKeyFile: '/d/tls/client.key' };

describe('the SASL_SSL listener of the local broker', () => {
  it('adds a SASL_SSL listener with PLAIN and SCRAM, the PKCS12 keystore, the PEM CA and the ACL authorizer', () => {
    const p = parse(
      renderServerProperties({ port: 19092, controllerPort: 19093, logDirs: '/d/logs', saslSsl: { port: 19094, tls, users: { admin: 'a"pw', app: 'b' }, superUsers: ['admin'] } }),
    );
    expect(p).toMatchObject({
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,SASL_SSL://127.0.0.1:19094',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
      'inter.broker.listener.name': 'PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="a\\"pw" user_app="b";',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': '/d/tls/broker.p12',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': '/d/tls/ca.crt',
      'ssl.client.auth': 'requested',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:ANONYMOUS;User:admin',
      'allow.everyone.if.no.acl.found': 'false',
    });
  });

  it('keeps the default broker plaintext only, without an authorizer', () => {
    const p = parse(renderServerProperties({ port: 19092, controllerPort: 19093, logDirs: '/d/logs' }));
    expect(p['listener.security.protocol.map']).toBe('PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT');
    expect(Object.keys(p).filter((k) => /sasl|ssl|authorizer|super/.test(k))).toEqual([]);
  });

  it('gives every user both SCRAM credentials at format time', () => {
    expect(scramFormatArgs({ admin: 'x' })).toEqual(['--add-scram', 'SCRAM-SHA-256=[name=admin,password=x]', '--add-scram', 'SCRAM-SHA-512=[name=admin,password=x]']);
    expect(() => scramFormatArgs({ admin: 'a,b' })).toThrow('SCRAM user admin');
  });
});
