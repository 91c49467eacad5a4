import type { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from './data-source.js';

/** The migrations this build was made with (TypeORM's `name` of each), oldest first. */
export const EXPECTED_MIGRATIONS: readonly string[] = ALL_MIGRATIONS.map((M) => new M().name ?? M.name);

/** Expected migrations the database has not applied, in order. Extra applied ones (a newer release's) are fine. */
export function missingMigrations(applied: readonly string[], expected: readonly string[] = EXPECTED_MIGRATIONS): string[] {
  const have = new Set(applied);
  return expected.filter((name) => !have.has(name));
}

/** What `/ready` says while the schema is behind the build; null when it is current. */
export function schemaVersionProblem(applied: readonly string[], expected: readonly string[] = EXPECTED_MIGRATIONS): string | null {
  const missing = missingMigrations(applied, expected);
  if (missing.length === 0) return null;
  return `schema is behind this build: ${missing.length} migration(s) not applied (${missing.join(', ')}); run the migrations (npm run migrate, or the migrate Job)`;
}

const UNDEFINED_TABLE = '42P01';

/** Names of the applied migrations (TypeORM's `migrations` table); none when the table does not exist yet. */
export async function appliedMigrations(dataSource: Pick<DataSource, 'query'>): Promise<string[]> {
  try {
    const rows = (await dataSource.query('SELECT name FROM migrations')) as { name: string }[];
    return rows.map((r) => r.name);
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) return [];
    throw err;
  }
}
