/**
 * The short chaos run (`npm run chaos -- --short`): its own local stack (Kafka, Postgres, SMTP, the
 * five apps as processes from dist/, so `npm run build` first), steady traffic, a `kill -9` of the
 * dispatcher and SMTP down while a webhook is disabled. Nothing may be lost, every delivery must be in
 * the delivery log, each disable email must arrive exactly once, and a repeat must keep its delivery id.
 */
import { describe, expect, it } from '@jest/globals';
import { ChaosRun } from '../../scripts/chaos/chaos.js';
import { SHORT_FAULTS } from '../../scripts/chaos/faults.js';

describe('chaos (short): kill -9 of the dispatcher, SMTP down during a disable', () => {
  it('loses nothing, logs every delivery, sends each email once', async () => {
    const lines: string[] = [];
    const result = await new ChaosRun({ faults: SHORT_FAULTS, warmMs: 3_000, afterMs: 3_000, say: (m) => lines.push(m) }).run();
    const context = `${result.table}\n${result.summary}\n${lines.join('\n')}`;
    expect({ rows: result.rows.length, context }).toEqual({ rows: SHORT_FAULTS.length, context });
    for (const row of result.rows) {
      expect(row.events).toBeGreaterThan(0);
      expect(row.delivered).toBe(row.expected);
      expect(row).toMatchObject({ lost: 0, duplicatesWithOtherId: 0, logMissing: 0, emailsExpected: 1, emailsSent: 1 });
    }
    expect(result.summary).toMatch(/^chaos: 2 faults, \d+ events, 0 lost, 0 log rows missing, 0 emails wrong$/);
    expect(result.skipped).toEqual([]);
    expect(result.exitCode).toBe(0);
  }, 240_000);
});
