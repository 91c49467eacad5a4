import { describe, expect, it } from '@jest/globals';
import { OutboxRelay } from './outbox.relay.js';

describe('OutboxRelay', () => {
  it('reports stopped before start and is safe to stop twice', async () => {
    const relay = new OutboxRelay({ send: async () => undefined }, { databaseUrl: 'postgres://nobody@127.0.0.1:1/x', pollIntervalMs: 10 });
    expect(relay.health()).toEqual({ ok: false, detail: 'stopped' });
    await relay.stop();
    await relay.stop();
  });

  it('keeps retrying (not crashing) while the database is unreachable, and says why', async () => {
    const relay = new OutboxRelay({ send: async () => undefined }, { databaseUrl: 'postgres://nobody@127.0.0.1:1/x', pollIntervalMs: 10 });
    relay.start();
    try {
      expect(relay.health()).toEqual({ ok: false, detail: 'connecting' });
      for (let i = 0; i < 100 && relay.health().detail === 'connecting'; i++) await new Promise((r) => setTimeout(r, 20));
      const health = relay.health();
      expect(health.ok).toBe(false);
      expect(health.detail).toMatch(/ECONNREFUSED/);
    } finally {
      await relay.stop();
    }
  });
});
