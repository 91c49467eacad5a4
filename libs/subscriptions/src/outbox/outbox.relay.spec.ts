import { describe, expect, it } from '@jest/globals';
import { fenceDecision } from './outbox.fencing.js';
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

describe('fenceDecision', () => {
  it('never publishes once the lease (epoch + advisory lock of this session) is gone', () => {
    expect(fenceDecision({ leaseHeld: false, now: 1_000, takeoverFenceUntil: 0 })).toEqual({ kind: 'lost' });
    expect(fenceDecision({ leaseHeld: false, now: 1_000, takeoverFenceUntil: 5_000 })).toEqual({ kind: 'lost' });
  });

  it('a new leader waits out the previous leader’s fencing window before its first publish', () => {
    expect(fenceDecision({ leaseHeld: true, now: 1_000, takeoverFenceUntil: 4_000 })).toEqual({ kind: 'wait', ms: 3_000 });
    expect(fenceDecision({ leaseHeld: true, now: 4_000, takeoverFenceUntil: 4_000 })).toEqual({ kind: 'publish' });
    expect(fenceDecision({ leaseHeld: true, now: 1_000, takeoverFenceUntil: 0 })).toEqual({ kind: 'publish' });
  });
});
