import { describe, it, expect } from '@jest/globals';
import { memoryRows } from './idle.bench.js';

const MiB = 2 ** 20;

describe('idle memory rows', () => {
  it('judges each app against 80 MiB RSS, not the broker, and sums the apps', () => {
    const rows = memoryRows(
      {
        dispatcher: { rss: 70 * MiB, pss: 30 * MiB, processes: 1 },
        notifier: { rss: 90 * MiB, pss: 50 * MiB, processes: 1 },
        Postgres: { rss: 120 * MiB, pss: 34 * MiB, processes: 10 },
      },
      ['dispatcher', 'notifier'],
    );
    expect(rows[0]).toMatchObject({ process: 'dispatcher', 'RSS MiB': '70.0', 'PSS MiB': '30.0', verdict: 'met' });
    expect(rows[1]).toMatchObject({ process: 'notifier', verdict: 'NOT met' });
    expect(rows[2]).toMatchObject({ process: 'Postgres (10 processes)', verdict: '-' });
    expect(rows[3]).toMatchObject({ process: 'five apps together', 'RSS MiB': '160.0', 'PSS MiB': '80.0' });
  });

  it('shows n/a for a process it could not read', () => {
    const rows = memoryRows({ dispatcher: { rss: NaN, pss: NaN, processes: 0 } }, ['dispatcher']);
    expect(rows[0]).toMatchObject({ 'RSS MiB': 'n/a (not our process)', verdict: 'n/a' });
  });
});
