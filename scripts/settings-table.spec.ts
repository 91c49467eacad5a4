import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { extractSettingsTable } from '@odis/config';
import { buildAppEnv } from './local-stack/apps.js';
import { README_PATH, settingsTable } from './settings-table.js';

describe('README settings table', () => {
  it('is the table generated from the settings schemas (regenerate: npm run build && node dist/scripts/settings-table.js)', () => {
    const documented = extractSettingsTable(readFileSync(README_PATH, 'utf8'));
    expect(documented).toBeDefined();
    expect(documented).toBe(settingsTable());
  });

  it('lists every setting of every app once, with the apps that read it', () => {
    const rows = settingsTable().split('\n').slice(2);
    const names = rows.map((r) => /^\| `([A-Z_]+)`/.exec(r)?.[1]);
    expect(new Set(names).size).toBe(rows.length);
    expect(rows.find((r) => r.startsWith('| `DISPATCH_FANOUT_CONCURRENCY` |'))).toBe(
      '| `DISPATCH_FANOUT_CONCURRENCY` | dispatcher | `64` | events in flight per partition of `events.*` (each may fan out to many deliveries) |',
    );
    expect(rows.find((r) => r.startsWith('| `KAFKA_BROKERS` † |'))).toContain('| all apps, CLI, ensure-topics | — (required) |');
    expect(rows.find((r) => r.startsWith('| `PORT` |'))).toContain('`3000` subscription-api · `3001` event-ingest · `3002` dispatcher');
  });

  it('marks † exactly the settings npm start sets for every app (PORT, set per app, aside)', () => {
    const infra = { KAFKA_BROKERS: 'k:1', DATABASE_URL: 'postgres://d', SMTP_URL: 'smtp://s', MAIL_DIR: '/m' };
    const set = Object.keys(buildAppEnv({}, { infra, retrySchedule: '0', secretEncryptionKey: 'k', ingestServiceToken: 't' }, 1));
    const rows = settingsTable().split('\n').slice(2);
    const names = rows.map((r) => /^\| `([A-Z_]+)`/.exec(r)?.[1] ?? '');
    const marked = rows.filter((r) => /^\| `[A-Z_]+` †/.test(r)).map((r) => /`([A-Z_]+)`/.exec(r)?.[1]);
    expect(marked.sort()).toEqual(set.filter((k) => k !== 'PORT' && names.includes(k)).sort());
  });
});
