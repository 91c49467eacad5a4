/**
 * The recovery runner's claim/lease on the real Postgres (decision 0011): a queued recovery goes to
 * one runner only; a running one whose lease expired is taken over; only the lease holder renews and
 * finishes it; recorded delivery ids are idempotent and `finish` sets `events` to what was produced.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@odis/persistence';
import { RecoveriesRepository } from '../../apps/subscription-api/src/recoveries/recoveries.repository.js';
import { newRecoveryId } from '../../apps/subscription-api/src/recoveries/recovery-plan.js';
import { requireEnv } from './subscription-api.harness.js';

describe('RecoveriesRepository (real Postgres)', () => {
  let ds: DataSource;
  let repo: RecoveriesRepository;

  beforeAll(async () => {
    ds = new DataSource(dataSourceOptions(requireEnv('DATABASE_URL'), { extra: { max: 4 } }));
    await ds.initialize();
    repo = new RecoveriesRepository(ds);
    // Other tests' recoveries must not be claimed here: nothing else is queued in this file's run.
    await ds.query(`UPDATE recoveries SET status = 'produced' WHERE status IN ('queued', 'running')`);
  });

  afterAll(async () => {
    await ds?.destroy();
  });

  const insert = async () => {
    const id = newRecoveryId();
    await repo.insert({ id, accountId: 'acct_rr', subscriptionId: 'wh_rr', since: new Date(Date.now() - 60_000), until: new Date(), status: 'queued', events: 2 });
    return id;
  };

  it('gives a queued recovery to one runner; takes over an expired lease; only the holder renews and finishes', async () => {
    const id = await insert();
    const [first, second] = await Promise.all([repo.claim('runner-1', 60_000), repo.claim('runner-2', 60_000)]);
    const claimed = [first, second].filter((r) => r !== null);
    expect(claimed.map((r) => r!.id)).toEqual([id]);
    const holder = first ? 'runner-1' : 'runner-2';
    const other = first ? 'runner-2' : 'runner-1';
    expect(claimed[0]!.status).toBe('running');
    expect(await repo.claim(other, 60_000)).toBeNull(); // lease still valid
    expect(await repo.renew(id, other, 60_000)).toBe(false);
    expect(await repo.renew(id, holder, 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    const takenOver = await repo.claim(other, 60_000);
    expect(takenOver?.id).toBe(id);
    expect(await repo.renew(id, holder, 60_000)).toBe(false); // the old holder lost it
    expect(await repo.finish(id, holder)).toBe(false);

    await repo.addDeliveries(id, [{ deliveryId: 'dlv_a', eventId: 'evt_a' }]);
    await repo.addDeliveries(id, [{ deliveryId: 'dlv_a', eventId: 'evt_a' }]); // a re-run adds nothing twice
    expect(await repo.finish(id, other)).toBe(true);
    const done = await repo.get('acct_rr', 'wh_rr', id);
    expect(done).toMatchObject({ status: 'produced', events: 1, produced: 1 });
    expect(done!.finishedAt).toBeInstanceOf(Date);
    expect(await repo.progress(id)).toEqual({ delivered: 0, failed: 0 }); // no attempt recorded yet
    expect(await repo.get('acct_other', 'wh_rr', id)).toBeNull();
  });
});
