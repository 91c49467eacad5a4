import { describe, expect, it } from '@jest/globals';
import type { RecoveryRow } from './recoveries.repository.js';
import { presentRecovery } from './recoveries.service.js';

const row = (over: Partial<RecoveryRow>): RecoveryRow => ({
  id: 'rec_1',
  accountId: 'acct_a',
  subscriptionId: 'wh_1',
  since: new Date('2026-11-29T00:00:00Z'),
  until: new Date('2026-11-30T00:00:00Z'),
  status: 'queued',
  events: 3,
  produced: 0,
  createdAt: new Date('2026-11-30T00:00:01Z'),
  startedAt: null,
  finishedAt: null,
  ...over,
});

describe('presentRecovery', () => {
  it('shows queued, running and dry_run as stored', () => {
    expect(presentRecovery(row({}), { delivered: 0, failed: 0 }).status).toBe('queued');
    expect(presentRecovery(row({ status: 'running' }), { delivered: 1, failed: 0 }).status).toBe('running');
    expect(presentRecovery(row({ status: 'dry_run' }), { delivered: 0, failed: 0 }).status).toBe('dry_run');
  });

  it('a produced recovery is running until every delivery settled, then done', () => {
    expect(presentRecovery(row({ status: 'produced' }), { delivered: 2, failed: 0 }).status).toBe('running');
    const done = presentRecovery(row({ status: 'produced' }), { delivered: 2, failed: 1 });
    expect(done).toMatchObject({ object: 'recovery', id: 'rec_1', webhook_id: 'wh_1', status: 'done', events: 3, delivered: 2, failed: 1, since: '2026-11-29T00:00:00.000Z' });
    expect(presentRecovery(row({ status: 'produced', events: 0 }), { delivered: 0, failed: 0 }).status).toBe('done');
  });
});
