import { describe, it, expect } from '@jest/globals';
import pg from 'pg';
import { requireEnv } from '../support/infra.js';

describe('local Postgres', () => {
  it('answers select 1 on the odis_webhooks database, over TCP on loopback', async () => {
    const url = new URL(requireEnv('DATABASE_URL'));
    expect(url.hostname).toMatch(/^(127\.0\.0\.1|localhost)$/);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const one = await client.query<{ one: number }>('select 1 as one');
      expect(one.rows).toEqual([{ one: 1 }]);
      const db = await client.query<{ db: string; encoding: string }>('select current_database() as db, pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()');
      expect(db.rows[0]).toEqual({ db: 'odis_webhooks', encoding: 'UTF8' });
      // writable, transactional
      await client.query('begin');
      await client.query('create temporary table infra_probe (id int primary key)');
      await client.query('insert into infra_probe values (1), (2)');
      expect((await client.query('select count(*)::int as n from infra_probe')).rows[0]).toEqual({ n: 2 });
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });
});
