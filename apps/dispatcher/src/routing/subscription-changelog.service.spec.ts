import { beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { SecretBox } from '@odis/contracts';
import type { KafkaConnection } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { snapshot, testBox } from '../testing/fixtures.js';
import { RoutingTable } from './routing-table.js';
import { SubscriptionChangelogService } from './subscription-changelog.service.js';

const rec = (key: string, value: unknown) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(JSON.stringify(value)) });

describe('SubscriptionChangelogService readiness', () => {
  beforeAll(() => Logger.overrideLogger(false)); // the skipped records are logged as errors, expected here

  it('turns /ready red with the count of webhooks whose secret does not decrypt, and green once they are fixed', async () => {
    const readiness = new ReadinessRegistry();
    const service = new SubscriptionChangelogService(new RoutingTable(), {} as KafkaConnection, testBox(), readiness, { DISPATCH_CHANGELOG_MAX_LAG_MS: 30_000 });
    const lost = SecretBox.fromBase64(Buffer.alloc(32, 3).toString('base64'));
    expect((await readiness.evaluate()).checks['undecryptable-secrets']).toEqual({ ok: true, detail: '0 webhooks' });
    for (const id of ['wh_1', 'wh_2', 'wh_3']) service.applier.apply(rec(id, snapshot({ id }, lost)));
    const red = await readiness.evaluate();
    expect(red.ready).toBe(false);
    expect(red.checks['undecryptable-secrets'].ok).toBe(false);
    expect(red.checks['undecryptable-secrets'].detail).toMatch(new RegExp(`^3 webhooks \\(wh_1, wh_2, wh_3\\).*key ids ${SecretBox.keyId(Buffer.alloc(32, 3))}`));
    for (const id of ['wh_1', 'wh_2']) service.applier.apply(rec(id, snapshot({ id, version: 2 })));
    service.applier.apply(rec('wh_3', null));
    expect((await readiness.evaluate()).checks['undecryptable-secrets'].ok).toBe(true);
  });

  it('the follower check is neutral while catching up (the routing-table check is red then)', async () => {
    const readiness = new ReadinessRegistry();
    new SubscriptionChangelogService(new RoutingTable(), {} as KafkaConnection, testBox(), readiness, { DISPATCH_CHANGELOG_MAX_LAG_MS: 30_000 });
    const state = await readiness.evaluate();
    expect(state.checks['changelog-follower'].ok).toBe(true);
    expect(state.checks['routing-table'].ok).toBe(false);
  });
});
