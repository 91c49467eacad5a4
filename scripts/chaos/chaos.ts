/**
 * One chaos run: the stack, the receivers, steady traffic, the faults one after the other (each while
 * traffic flows), and after each a drain and a reconciliation of what ingest accepted against what the
 * receivers got, the delivery log and the emails.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ChaosStack } from './stack.js';
import { ChaosReceivers, type Behaviour } from './receivers.js';
import { TrafficDriver } from './traffic.js';
import { selectFaults, sleep, type Fault, type FaultContext } from './faults.js';
import { exitCode, formatTable, isSettled, reconcile, summaryLine, type LogRow, type PhaseRow } from './reconciler.js';
import type { Account } from '../local-stack/apps.js';

export interface ChaosOptions {
  /** Fault ids (default: all). */
  faults?: readonly string[];
  /** Events per second over all accounts. */
  rate?: number;
  /** Traffic before the fault and after it is lifted. */
  warmMs?: number;
  afterMs?: number;
  /** Longest wait for a phase to settle. */
  drainTimeoutMs?: number;
  say?: (m: string) => void;
  /** Keep the run's folder (logs, data). */
  keepDir?: boolean;
  /** The whole run's time budget (default 14 min): drains end at it, and faults not started by then are skipped (the run fails). */
  budgetMs?: number;
}

export interface ChaosResult {
  rows: PhaseRow[];
  table: string;
  summary: string;
  exitCode: number;
  dir: string;
  /** Faults not run because the time budget was spent. */
  skipped: string[];
}

const ALL_EVENTS = ['call.started', 'call.ended', 'appointment.created'];

interface Webhook {
  id: string;
  accountId: string;
}

export class ChaosRun {
  private readonly say: (m: string) => void;
  private readonly tag = randomBytes(4).toString('hex');
  private readonly receivers = new ChaosReceivers();
  private stack!: ChaosStack;
  private traffic!: TrafficDriver;
  private readonly accounts: Account[] = [];
  private readonly delivering = new Map<string, string[]>();
  private deadline = Infinity;

  constructor(private readonly o: ChaosOptions = {}) {
    this.say = o.say ?? ((m) => process.stderr.write(`[chaos] ${m}\n`));
  }

  async run(): Promise<ChaosResult> {
    const faults = selectFaults(this.o.faults);
    const dir = mkdtempSync(join(tmpdir(), 'odis-chaos-'));
    this.stack = new ChaosStack(dir, this.say);
    const rows: PhaseRow[] = [];
    const skipped: string[] = [];
    let failed = true;
    try {
      const t0 = Date.now();
      this.deadline = t0 + (this.o.budgetMs ?? 14 * 60_000);
      await this.stack.startInfrastructure();
      for (const [i, name] of ['Alpha', 'Beta', 'Gamma'].entries()) this.accounts.push(await this.stack.createAccount(`Chaos ${name} ${this.tag}`, `chaos${i}@clinic.example`));
      await this.receivers.start();
      await this.stack.startApps();
      this.say(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (logs in ${dir}/logs)`);
      // Fan-out: Alpha → healthy, slow, recovering; Beta → healthy, recovering; Gamma → healthy (+ a failing one per fault).
      const plan: Array<[number, Behaviour]> = [
        [0, 'healthy'],
        [0, 'slow'],
        [0, 'recovering'],
        [1, 'healthy'],
        [1, 'recovering'],
        [2, 'healthy'],
      ];
      for (const [i, behaviour] of plan) {
        const w = await this.createWebhook(this.accounts[i]!, behaviour, `${behaviour}-${i}`, ALL_EVENTS);
        this.delivering.set(w.accountId, [...(this.delivering.get(w.accountId) ?? []), w.id]);
      }
      this.traffic = new TrafficDriver({
        ingestUrl: this.stack.urlOf('event-ingest'),
        token: this.stack.ingestToken,
        accounts: this.accounts.map((a) => a.account_id),
        ratePerSecond: this.o.rate ?? 15,
        tag: `chaos-${this.tag}`,
      });
      for (const [i, fault] of faults.entries()) {
        if (Date.now() > this.deadline - 60_000) {
          skipped.push(fault.name);
          this.say(`${fault.name}: skipped, the time budget is spent`);
          continue;
        }
        const row = await this.phase(i, fault);
        rows.push(row);
        this.say(`${fault.name}: ${row.events} events, ${row.delivered}/${row.expected} delivered, ${row.lost} lost, ${row.duplicates} duplicates, ${row.logMissing} log rows missing, emails ${row.emailsSent}/${row.emailsExpected}`);
      }
      failed = exitCode(rows) !== 0 || skipped.length > 0;
    } finally {
      await this.traffic?.stop().catch(() => undefined);
      await this.receivers.close();
      await this.stack.stop();
      if (!failed && !this.o.keepDir) rmSync(dir, { recursive: true, force: true });
      else this.say(`kept ${dir}`);
    }
    return { rows, table: formatTable(rows), summary: summaryLine(rows), exitCode: skipped.length > 0 ? 1 : exitCode(rows), dir, skipped };
  }

  private async phase(i: number, fault: Fault): Promise<PhaseRow> {
    this.say(`fault ${i + 1}: ${fault.name}`);
    const failing = await this.createWebhook(this.accounts[2]!, 'failing', `failing-${i}`, ['call.started']);
    this.traffic.take();
    this.traffic.start();
    await sleep(this.o.warmMs ?? 4_000);
    const ctx: FaultContext = { stack: this.stack, failingWebhookId: failing.id, notificationRows: (id) => this.notificationRows(id), say: this.say };
    const faultStartedAt = Date.now();
    await fault.inject(ctx);
    const faultEndedAt = Date.now();
    await sleep(this.o.afterMs ?? 5_000);
    await this.traffic.stop();
    const { accepted } = this.traffic.take();
    const emailsExpected = new Map([[failing.id, 1]]);
    const compute = async () =>
      reconcile({
        fault: fault.name,
        accepted,
        deliveringWebhooks: this.delivering,
        received: this.receivers.requests,
        logRows: await this.logRows(accepted.map((e) => e.eventId)),
        emailsExpected,
        emailsSent: this.emails([failing.id]),
        faultStartedAt,
        faultEndedAt,
      });
    const deadline = Math.min(Date.now() + (this.o.drainTimeoutMs ?? 90_000), this.deadline);
    let row = await compute();
    while (!isSettled(row) && Date.now() < deadline) {
      await sleep(1_000);
      row = await compute();
    }
    // A little longer, so that late duplicates (and a second email) would be seen.
    await sleep(2_000);
    return compute();
  }

  private async createWebhook(account: Account, behaviour: Behaviour, label: string, events: string[]): Promise<Webhook> {
    const res = await fetch(`${this.stack.urlOf('subscription-api')}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${account.api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: this.receivers.urlFor(behaviour, label), events, secret: `whsec_chaos_${randomBytes(12).toString('hex')}` }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 201 || !body.id) throw new Error(`POST /v1/webhooks answered ${res.status}: ${JSON.stringify(body)}`);
    this.receivers.bind(behaviour, label, body.id);
    // Traffic starts only once the dispatcher routes to it.
    const until = Date.now() + 60_000;
    while ((await fetch(`${this.stack.urlOf('dispatcher')}/routing/subscriptions/${body.id}`).then((r) => r.status).catch(() => 0)) !== 200) {
      if (Date.now() > until) throw new Error(`the dispatcher did not learn webhook ${body.id} within 60 s`);
      await sleep(250);
    }
    return { id: body.id, accountId: account.account_id };
  }

  private async query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[] | undefined> {
    const client = new pg.Client({ connectionString: this.stack.postgres.url, connectionTimeoutMillis: 2_000, query_timeout: 10_000 });
    try {
      await client.connect();
      return (await client.query<T>(sql, params)).rows;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async logRows(eventIds: string[]): Promise<LogRow[]> {
    const rows = await this.query<{ event_id: string; subscription_id: string; delivery_id: string }>(
      `select distinct event_id, subscription_id, delivery_id from delivery_attempts where outcome = 'succeeded' and event_id = any($1::text[])`,
      [eventIds],
    );
    return (rows ?? []).map((r) => ({ eventId: r.event_id, subscriptionId: r.subscription_id, deliveryId: r.delivery_id }));
  }

  private async notificationRows(webhookId: string): Promise<number> {
    const rows = await this.query<{ n: string }>(`select count(*) as n from notification_log where subscription_id = $1`, [webhookId]);
    return Number(rows?.[0]?.n ?? 0);
  }

  /** Emails in the SMTP server's folder that name each webhook. */
  private emails(webhookIds: string[]): Map<string, number> {
    const out = new Map<string, number>();
    let files: string[] = [];
    try {
      files = readdirSync(this.stack.mailDir).filter((f) => f.endsWith('.eml'));
    } catch {
      /* none yet */
    }
    const texts = files.map((f) => readFileSync(join(this.stack.mailDir, f), 'utf8').replace(/=\r?\n/g, ''));
    for (const id of webhookIds) out.set(id, texts.filter((t) => t.includes(id)).length);
    return out;
  }
}
