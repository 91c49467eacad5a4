import { runMigrations } from '../data-source.js';
import { retryWithBackoff } from '@odis/platform';

const url = process.env.DATABASE_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  process.stderr.write('migrate: DATABASE_URL is required (postgres://user@host:port/db)\n');
  process.exit(78);
}
const deadline = AbortSignal.timeout(Number(process.env.MIGRATE_WAIT_MS ?? 60_000));
const ran = await retryWithBackoff(() => runMigrations(url), {
  signal: deadline,
  onError: (err, attempt, wait) => process.stderr.write(`migrate: database not reachable (${(err as Error).message}), retry ${attempt} in ${wait} ms\n`),
});
process.stdout.write(ran.length ? `migrate: applied ${ran.join(', ')}\n` : 'migrate: schema is up to date\n');
