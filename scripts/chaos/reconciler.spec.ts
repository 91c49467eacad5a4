import { describe, expect, it } from '@jest/globals';
import { exitCode, formatTable, isSettled, reconcile, summaryLine, type PhaseInput } from './reconciler.js';

const base = (over: Partial<PhaseInput> = {}): PhaseInput => ({
  fault: 'kill -9 dispatcher',
  accepted: [
    { eventId: 'e1', accountId: 'a', acceptedAt: 100 },
    { eventId: 'e2', accountId: 'a', acceptedAt: 200 },
    { eventId: 'e3', accountId: 'b', acceptedAt: 900 },
  ],
  deliveringWebhooks: new Map([
    ['a', ['w1', 'w2']],
    ['b', ['w3']],
  ]),
  received: [],
  logRows: [],
  emailsExpected: new Map([['wf', 1]]),
  emailsSent: new Map(),
  faultStartedAt: 150,
  faultEndedAt: 500,
  ...over,
});

const ok = (eventId: string, webhookId: string, at: number, deliveryId = `d-${eventId}-${webhookId}`) => ({ eventId, webhookId, deliveryId, status: 200, at });
const log = (eventId: string, subscriptionId: string) => ({ eventId, subscriptionId, deliveryId: `d-${eventId}-${subscriptionId}` });
const everything = [ok('e1', 'w1', 110), ok('e1', 'w2', 120), ok('e2', 'w1', 700), ok('e2', 'w2', 650), ok('e3', 'w3', 950)];
const allLogged = [log('e1', 'w1'), log('e1', 'w2'), log('e2', 'w1'), log('e2', 'w2'), log('e3', 'w3')];

describe('reconcile', () => {
  it('expects events × matching delivering webhooks and finds nothing wrong when all arrived once and are logged', () => {
    const row = reconcile(base({ received: everything, logRows: allLogged, emailsSent: new Map([['wf', 1]]) }));
    expect(row).toMatchObject({ events: 3, expected: 5, delivered: 5, lost: 0, duplicates: 0, logMissing: 0, emailsExpected: 1, emailsSent: 1, emailsWrong: 0 });
    // e1 and e2 were accepted before the fault ended; the last of their deliveries came at 700.
    expect(row.recoverMs).toBe(550);
    expect(isSettled(row)).toBe(true);
    expect(exitCode([row])).toBe(0);
  });

  it('counts a pair without a 2xx as lost (a failed attempt is not a delivery) and its missing log row', () => {
    const received = [...everything.filter((r) => r.eventId !== 'e3'), { ...ok('e3', 'w3', 960), status: 503 }];
    const row = reconcile(base({ received, logRows: allLogged.slice(0, 4), emailsSent: new Map([['wf', 1]]) }));
    expect(row).toMatchObject({ delivered: 4, lost: 1, logMissing: 1 });
    expect(isSettled(row)).toBe(false);
    expect(exitCode([row])).toBe(1);
  });

  it('classifies duplicates by delivery id', () => {
    const sameId = reconcile(base({ received: [...everything, ok('e1', 'w1', 300)], logRows: allLogged, emailsSent: new Map([['wf', 1]]) }));
    expect(sameId).toMatchObject({ duplicates: 1, duplicatesWithOtherId: 0, lost: 0 });
    expect(exitCode([sameId])).toBe(0);
    const otherId = reconcile(base({ received: [...everything, ok('e1', 'w1', 300, 'another')], logRows: allLogged, emailsSent: new Map([['wf', 1]]) }));
    expect(otherId).toMatchObject({ duplicates: 1, duplicatesWithOtherId: 1 });
    expect(exitCode([otherId])).toBe(1);
  });

  it('ignores requests for events ingest never accepted and for webhooks that are not expected to succeed', () => {
    const row = reconcile(base({ received: [...everything, ok('stray', 'w1', 10), ok('e1', 'wf', 10)], logRows: allLogged, emailsSent: new Map([['wf', 1]]) }));
    expect(row).toMatchObject({ delivered: 5, duplicates: 0 });
  });

  it('counts missing and extra emails as wrong', () => {
    expect(reconcile(base({ received: everything, logRows: allLogged })).emailsWrong).toBe(1);
    const twice = reconcile(base({ received: everything, logRows: allLogged, emailsSent: new Map([['wf', 2], ['other', 1]]) }));
    expect(twice).toMatchObject({ emailsExpected: 1, emailsSent: 3, emailsWrong: 2 });
  });

  it('has no recovery time when nothing accepted before the end of the fault arrived', () => {
    expect(reconcile(base({ received: [] })).recoverMs).toBeNaN();
  });
});

describe('report', () => {
  it('prints one row per fault and exactly the summary line', () => {
    const rows = [
      reconcile(base({ received: everything, logRows: allLogged, emailsSent: new Map([['wf', 1]]) })),
      reconcile(base({ fault: 'postgres paused 20 s', received: everything.slice(1), logRows: allLogged })),
    ];
    const table = formatTable(rows).split('\n');
    expect(table).toHaveLength(4);
    expect(table[2]).toContain('| kill -9 dispatcher | 3 | 5 | 5 | 0 | 0 | 0 | 1/1 | 0.6 s |');
    expect(table[3]).toContain('| postgres paused 20 s | 3 | 5 | 4 | 1 |');
    expect(summaryLine(rows)).toBe('chaos: 2 faults, 6 events, 1 lost, 0 log rows missing, 1 emails wrong');
  });
});
