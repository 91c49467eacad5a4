/**
 * The chaos run's bookkeeping, pure: what ingest accepted, which webhooks each event had to reach,
 * what every receiver got and what the delivery log holds → one table row per fault.
 */

/** An event ingest answered 202 for. */
export interface AcceptedEvent {
  eventId: string;
  accountId: string;
  /** When the 202 arrived (ms since epoch). */
  acceptedAt: number;
}

/** One request a receiver answered. */
export interface ReceivedRequest {
  webhookId: string;
  eventId: string;
  deliveryId: string;
  status: number;
  at: number;
}

/** A `delivery_attempts` row with outcome `succeeded`. */
export interface LogRow {
  eventId: string;
  subscriptionId: string;
  deliveryId: string;
}

export interface PhaseInput {
  fault: string;
  accepted: readonly AcceptedEvent[];
  /** Per account, the webhooks whose endpoint eventually answers 2xx (each must get every event once). */
  deliveringWebhooks: ReadonlyMap<string, readonly string[]>;
  received: readonly ReceivedRequest[];
  logRows: readonly LogRow[];
  /** Disable emails owed per webhook id (failing endpoints: one each). */
  emailsExpected: ReadonlyMap<string, number>;
  /** Emails the SMTP server holds per webhook id. */
  emailsSent: ReadonlyMap<string, number>;
  faultStartedAt: number;
  faultEndedAt: number;
}

export interface PhaseRow {
  fault: string;
  events: number;
  expected: number;
  delivered: number;
  lost: number;
  /** 2xx requests beyond the first for the same (event, webhook). */
  duplicates: number;
  /** Duplicated pairs that carried more than one delivery id (must be 0). */
  duplicatesWithOtherId: number;
  logMissing: number;
  emailsExpected: number;
  emailsSent: number;
  /** Sum over webhooks of |sent − expected|. */
  emailsWrong: number;
  /** From the injection until every delivery of the events accepted before the fault was lifted had arrived; NaN when none was. */
  recoverMs: number;
}

const pairKey = (eventId: string, webhookId: string) => `${eventId} ${webhookId}`;

export function reconcile(input: PhaseInput): PhaseRow {
  const expected = new Map<string, AcceptedEvent>();
  for (const e of input.accepted) {
    for (const w of input.deliveringWebhooks.get(e.accountId) ?? []) expected.set(pairKey(e.eventId, w), e);
  }
  const firstOk = new Map<string, number>();
  const okCount = new Map<string, number>();
  const ids = new Map<string, Set<string>>();
  for (const r of input.received) {
    if (r.status < 200 || r.status > 299) continue;
    const key = pairKey(r.eventId, r.webhookId);
    if (!expected.has(key)) continue;
    okCount.set(key, (okCount.get(key) ?? 0) + 1);
    firstOk.set(key, Math.min(firstOk.get(key) ?? Infinity, r.at));
    const set = ids.get(key) ?? new Set<string>();
    set.add(r.deliveryId);
    ids.set(key, set);
  }
  let duplicates = 0;
  let duplicatesWithOtherId = 0;
  for (const [key, n] of okCount) {
    if (n > 1) {
      duplicates += n - 1;
      if ((ids.get(key)?.size ?? 0) > 1) duplicatesWithOtherId++;
    }
  }
  const logged = new Set(input.logRows.map((r) => pairKey(r.eventId, r.subscriptionId)));
  let logMissing = 0;
  for (const key of expected.keys()) if (!logged.has(key)) logMissing++;

  let last = -Infinity;
  for (const [key, e] of expected) {
    if (e.acceptedAt > input.faultEndedAt) continue;
    last = Math.max(last, firstOk.get(key) ?? Infinity);
  }
  const recoverMs = last === -Infinity || last === Infinity ? NaN : Math.max(0, last - input.faultStartedAt);

  let emailsExpected = 0;
  let emailsSent = 0;
  let emailsWrong = 0;
  const webhooks = new Set([...input.emailsExpected.keys(), ...input.emailsSent.keys()]);
  for (const w of webhooks) {
    const want = input.emailsExpected.get(w) ?? 0;
    const got = input.emailsSent.get(w) ?? 0;
    emailsExpected += want;
    emailsSent += got;
    emailsWrong += Math.abs(got - want);
  }
  return {
    fault: input.fault,
    events: input.accepted.length,
    expected: expected.size,
    delivered: firstOk.size,
    lost: expected.size - firstOk.size,
    duplicates,
    duplicatesWithOtherId,
    logMissing,
    emailsExpected,
    emailsSent,
    emailsWrong,
    recoverMs,
  };
}

/** True when the phase needs nothing more to arrive (the drain may stop early). */
export function isSettled(row: PhaseRow): boolean {
  return row.lost === 0 && row.logMissing === 0 && row.emailsSent >= row.emailsExpected;
}

export interface Totals {
  faults: number;
  events: number;
  lost: number;
  missing: number;
  emailsWrong: number;
  duplicatesWithOtherId: number;
}

export function totals(rows: readonly PhaseRow[]): Totals {
  const sum = (f: (r: PhaseRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  return {
    faults: rows.length,
    events: sum((r) => r.events),
    lost: sum((r) => r.lost),
    missing: sum((r) => r.logMissing),
    emailsWrong: sum((r) => r.emailsWrong),
    duplicatesWithOtherId: sum((r) => r.duplicatesWithOtherId),
  };
}

/** `chaos: <faults> faults, <events> events, <lost> lost, <missing> log rows missing, <emails> emails wrong` */
export function summaryLine(rows: readonly PhaseRow[]): string {
  const t = totals(rows);
  return `chaos: ${t.faults} faults, ${t.events} events, ${t.lost} lost, ${t.missing} log rows missing, ${t.emailsWrong} emails wrong`;
}

/** 0 only when nothing was lost, every delivery is logged, every email is right and every duplicate kept its delivery id. */
export function exitCode(rows: readonly PhaseRow[]): number {
  const t = totals(rows);
  return t.lost === 0 && t.missing === 0 && t.emailsWrong === 0 && t.duplicatesWithOtherId === 0 ? 0 : 1;
}

/** A Markdown table, one row per fault. */
export function formatTable(rows: readonly PhaseRow[]): string {
  const head = ['fault', 'events', 'deliveries expected', 'delivered', 'lost', 'duplicates (same id)', 'log rows missing', 'emails expected/sent', 'recovered in'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const dup = r.duplicates === 0 ? '0' : `${r.duplicates} (${r.duplicatesWithOtherId === 0 ? 'all same id' : `${r.duplicatesWithOtherId} with another id`})`;
    const rec = Number.isFinite(r.recoverMs) ? `${(r.recoverMs / 1000).toFixed(1)} s` : '—';
    lines.push(`| ${[r.fault, r.events, r.expected, r.delivered, r.lost, dup, r.logMissing, `${r.emailsExpected}/${r.emailsSent}`, rec].join(' | ')} |`);
  }
  return lines.join('\n');
}
