import { describe, it, expect, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import {
  APP_NAMES,
  DEFAULT_RETRY_SCHEDULE,
  PREFERRED_PORTS,
  APP_NODE_FLAGS,
  appArgs,
  appEntry,
  buildAppEnv,
  parseAccountJson,
  prefixLine,
  resolveRetrySchedule,
  runNodeScriptIfPresent,
  stackEnvEntries,
  waitForHttpReady,
} from './apps.js';

describe('npm start pieces', () => {
  describe('retry schedule passthrough', () => {
    it('defaults to the seed schedule when unset or blank', () => {
      expect(DEFAULT_RETRY_SCHEDULE).toBe('0,1m,5m,30m,2h');
      expect(resolveRetrySchedule({})).toEqual({ value: '0,1m,5m,30m,2h' });
      expect(resolveRetrySchedule({ WEBHOOK_RETRY_SCHEDULE: '  ' })).toEqual({ value: '0,1m,5m,30m,2h' });
    });
    it('passes a given schedule through unchanged', () => {
      expect(resolveRetrySchedule({ WEBHOOK_RETRY_SCHEDULE: '0,1s,2s,3s,4s' })).toEqual({ value: '0,1s,2s,3s,4s' });
      expect(resolveRetrySchedule({ WEBHOOK_RETRY_SCHEDULE: '0,500ms,1s,1s,1s' })).toEqual({ value: '0,500ms,1s,1s,1s' });
    });
    it('passes an odd-looking one through too, with a warning', () => {
      const r = resolveRetrySchedule({ WEBHOOK_RETRY_SCHEDULE: 'PT1M' });
      expect(r.value).toBe('PT1M');
      expect(r.warning).toMatch(/does not look like/);
    });
  });

  it('builds each app environment from the parent env, the infra, the secrets and its port', () => {
    const env = buildAppEnv(
      { PATH: '/bin', PORT: '9999', DATABASE_URL: 'postgres://stale' },
      {
        infra: { KAFKA_BROKERS: '127.0.0.1:1', DATABASE_URL: 'postgres://postgres@127.0.0.1:2/odis_webhooks', SMTP_URL: 'smtp://127.0.0.1:3', MAIL_DIR: undefined },
        retrySchedule: '0,1s',
        secretEncryptionKey: 'k',
        ingestServiceToken: 't',
      },
      3001,
    );
    expect(env).toEqual({
      PATH: '/bin',
      PORT: '3001',
      KAFKA_BROKERS: '127.0.0.1:1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:2/odis_webhooks',
      SMTP_URL: 'smtp://127.0.0.1:3',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '0,1s',
      SECRET_ENCRYPTION_KEY: 'k',
      INGEST_SERVICE_TOKEN: 't',
    });
  });

  it('knows the five apps, their preferred ports and entry files', () => {
    expect(APP_NAMES.map((a) => [a, PREFERRED_PORTS[a]])).toEqual([
      ['subscription-api', 3000],
      ['event-ingest', 3001],
      ['dispatcher', 3002],
      ['retry-scheduler', 3003],
      ['notifier', 3004],
    ]);
    expect(appEntry('/repo', 'dispatcher')).toBe('/repo/dist/apps/dispatcher/src/main.js');
  });

  it('starts each app with its V8 flags before the entry point', () => {
    expect(appArgs('/repo', 'notifier')).toEqual([...APP_NODE_FLAGS.notifier, '/repo/dist/apps/notifier/src/main.js']);
    expect(APP_NODE_FLAGS.notifier).toContain('--max-semi-space-size=2');
    for (const app of APP_NAMES) expect(appArgs('/repo', app).at(-1)).toBe(appEntry('/repo', app));
  });

  it('prefixes app output with [app] in aligned columns', () => {
    expect(prefixLine('dispatcher', 'hello')).toBe('[dispatcher]       hello');
    expect(prefixLine('subscription-api', 'x').indexOf('x')).toBe(prefixLine('notifier', 'x').indexOf('x'));
  });

  describe('account JSON from the CLI', () => {
    it('takes the last JSON line with account_id and api_key, ignoring log noise', () => {
      const out = 'migrating…\n{"level":"info"}\n{"account_id":"acc_1","api_key":"odis_sk_x"}\n';
      expect(parseAccountJson(out)).toEqual({ account_id: 'acc_1', api_key: 'odis_sk_x' });
    });
    it('accepts pretty-printed JSON', () => {
      expect(parseAccountJson('{\n  "account_id": "a",\n  "api_key": "k",\n  "name": "Demo"\n}\n')).toEqual({ account_id: 'a', api_key: 'k' });
    });
    it('fails clearly without one', () => {
      expect(() => parseAccountJson('created\n')).toThrow(/no \{"account_id","api_key"\} JSON/);
    });
  });

  it('lists stack.env entries in the documented order', () => {
    const entries = stackEnvEntries({
      infra: { KAFKA_BROKERS: 'k', DATABASE_URL: 'd', SMTP_URL: 's', MAIL_DIR: 'm' },
      apiUrl: 'http://127.0.0.1:3000',
      ingestUrl: 'http://127.0.0.1:3001',
      ingestServiceToken: 't',
      accounts: { DEMO: { account_id: 'a1', api_key: 'k1' }, SECOND: { account_id: 'a2', api_key: 'k2' } },
    });
    expect(Object.keys(entries)).toEqual([
      'KAFKA_BROKERS',
      'DATABASE_URL',
      'SMTP_URL',
      'MAIL_DIR',
      'API_URL',
      'INGEST_URL',
      'INGEST_SERVICE_TOKEN',
      'DEMO_ACCOUNT_ID',
      'DEMO_API_KEY',
      'SECOND_ACCOUNT_ID',
      'SECOND_API_KEY',
    ]);
    expect(entries.SECOND_API_KEY).toBe('k2');
  });

  it('skips a CLI step whose script does not exist yet', async () => {
    const r = await runNodeScriptIfPresent('/nonexistent/dist/libs/persistence/src/cli/migrate.js', [], {}, { name: 'migrate', cwd: '/' });
    expect(r).toEqual({ skipped: true, reason: '/nonexistent/dist/libs/persistence/src/cli/migrate.js does not exist (yet)' });
  });

  describe('readiness', () => {
    let ready = false;
    const server: Server = createServer((req, res) => {
      res.statusCode = req.url === '/ready' && ready ? 200 : 503;
      res.end();
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('waits until GET /ready answers 200', async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ready`;
      setTimeout(() => (ready = true), 300);
      const t0 = Date.now();
      await waitForHttpReady(url, { timeoutMs: 5_000 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    });

    it('times out when it never does', async () => {
      await expect(waitForHttpReady('http://127.0.0.1:1/ready', { timeoutMs: 300, what: 'dispatcher GET /ready' })).rejects.toThrow(
        /dispatcher GET \/ready: not ready after 300 ms/,
      );
    });
  });
});
