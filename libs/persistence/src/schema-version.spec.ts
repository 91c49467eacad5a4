import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ReadinessRegistry } from '@odis/platform';
import { DatabaseConnector } from './database.module.js';
import { appliedMigrations, EXPECTED_MIGRATIONS, missingMigrations, schemaVersionProblem } from './schema-version.js';

describe('schema version', () => {
  it('expects every migration of the build, by its TypeORM name, oldest first', () => {
    expect(EXPECTED_MIGRATIONS.length).toBeGreaterThanOrEqual(6);
    expect(EXPECTED_MIGRATIONS[0]).toBe('InitialSchema1764200000000');
    const stamps = EXPECTED_MIGRATIONS.map((n) => Number(/(\d{13})$/.exec(n)?.[1]));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
  });

  it('names the missing migrations; a newer release’s extra migrations are fine', () => {
    expect(missingMigrations(['A1', 'B2'], ['A1', 'B2', 'C3'])).toEqual(['C3']);
    expect(missingMigrations(['A1', 'B2', 'C3', 'D4'], ['A1', 'B2', 'C3'])).toEqual([]);
    expect(schemaVersionProblem(['A1', 'B2', 'C3', 'D4'], ['A1', 'B2', 'C3'])).toBeNull();
    expect(schemaVersionProblem([], ['A1', 'B2'])).toMatch(/2 migration\(s\) not applied \(A1, B2\)/);
    expect(schemaVersionProblem(EXPECTED_MIGRATIONS.slice(0, -1))).toContain(EXPECTED_MIGRATIONS.at(-1));
  });

  it('reads no applied migration from a database without the migrations table, and rethrows other errors', async () => {
    const missingTable = { query: async () => Promise.reject(Object.assign(new Error('relation "migrations" does not exist'), { code: '42P01' })) };
    await expect(appliedMigrations(missingTable)).resolves.toEqual([]);
    const down = { query: async () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })) };
    await expect(appliedMigrations(down)).rejects.toThrow('connection refused');
  });
});

describe('DatabaseConnector and the schema version', () => {
  it('stays unready (and connect() pending) until every expected migration is applied', async () => {
    const applied: string[] = EXPECTED_MIGRATIONS.slice(0, -2);
    let initialized = false;
    const dataSource = {
      get isInitialized() {
        return initialized;
      },
      async initialize() {
        initialized = true;
      },
      async destroy() {
        initialized = false;
      },
      async query(sql: string) {
        if (sql === 'SELECT 1') return [{ '?column?': 1 }];
        return applied.map((name) => ({ name }));
      },
    };
    const readiness = new ReadinessRegistry();
    const warn = Logger.prototype.warn;
    const warnings: string[] = [];
    Logger.prototype.warn = function (message: unknown) {
      warnings.push(String(message));
    };
    const connector = new DatabaseConnector(dataSource as unknown as DataSource, readiness);
    try {
      let connected = false;
      void connector.connect().then(() => (connected = true));
      for (let i = 0; i < 100 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const before = await readiness.evaluate();
      expect(before.ready).toBe(false);
      expect(before.checks.postgres.detail).toMatch(/schema is behind this build: 2 migration\(s\) not applied/);
      expect(before.checks.postgres.detail).toContain(EXPECTED_MIGRATIONS.at(-1));
      expect(connected).toBe(false);
      expect(warnings[0]).toMatch(/waiting for the migrations/);

      applied.push(...EXPECTED_MIGRATIONS.slice(-2)); // the migrate Job ran
      for (let i = 0; i < 200 && !connected; i++) await new Promise((r) => setTimeout(r, 50));
      expect(connected).toBe(true);
      expect(await readiness.evaluate()).toEqual({ ready: true, checks: { postgres: { ok: true } } });
    } finally {
      Logger.prototype.warn = warn;
      await connector.onApplicationShutdown();
    }
  });
});
