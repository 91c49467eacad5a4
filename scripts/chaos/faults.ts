/** The faults of a chaos run. Each `inject` runs while traffic flows and resolves once the fault is lifted. */
import type { AppName } from '../local-stack/apps.js';
import type { ChaosStack } from './stack.js';

export interface FaultContext {
  stack: ChaosStack;
  /** The failing webhook of this phase (its exhaustion disables it and owes one email). */
  failingWebhookId: string;
  /** Rows of the notification log for a webhook (0 when the database does not answer). */
  notificationRows(webhookId: string): Promise<number>;
  say(m: string): void;
}

export interface Fault {
  id: string;
  /** The table's label. */
  name: string;
  inject(ctx: FaultContext): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const killApp = (app: AppName): Fault => ({
  id: `kill-${app}`,
  name: `kill -9 ${app}`,
  inject: async ({ stack }) => stack.killAndRestart(app),
});

const PAUSE_MS = 20_000;

export const FAULTS: readonly Fault[] = [
  killApp('subscription-api'),
  killApp('event-ingest'),
  killApp('dispatcher'),
  killApp('retry-scheduler'),
  killApp('notifier'),
  {
    id: 'kafka-restart',
    name: 'Kafka stopped, restarted',
    inject: async ({ stack }) => {
      await stack.stopKafka();
      await sleep(3_000);
      await stack.startKafka();
    },
  },
  {
    id: 'kafka-pause',
    name: 'Kafka SIGSTOP 20 s',
    inject: async ({ stack }) => {
      stack.pause('kafka', true);
      await sleep(PAUSE_MS);
      stack.pause('kafka', false);
    },
  },
  {
    id: 'postgres-restart',
    name: 'Postgres stopped, restarted',
    inject: async ({ stack }) => {
      await stack.stopPostgres();
      await sleep(3_000);
      await stack.startPostgres();
    },
  },
  {
    id: 'postgres-pause',
    name: 'Postgres SIGSTOP 20 s',
    inject: async ({ stack }) => {
      stack.pause('postgres', true);
      await sleep(PAUSE_MS);
      stack.pause('postgres', false);
    },
  },
  {
    id: 'smtp-down',
    name: 'SMTP down while a webhook is disabled',
    inject: async ({ stack, failingWebhookId, notificationRows }) => {
      await stack.smtp.stop();
      // The webhook gets disabled and its email is owed while SMTP is away; then SMTP comes back.
      const until = Date.now() + 30_000;
      while (Date.now() < until && (await notificationRows(failingWebhookId)) === 0) await sleep(500);
      await sleep(4_000);
      await stack.smtp.restart();
    },
  },
  {
    id: 'rebalance-storm',
    name: 'rebalance storm (2nd dispatcher + retry-scheduler, twice)',
    inject: async ({ stack }) => {
      for (let round = 0; round < 2; round++) {
        const replicas = await Promise.all([stack.addReplica('dispatcher'), stack.addReplica('retry-scheduler')]);
        await sleep(3_000);
        await Promise.all(replicas.map((r) => stack.removeReplica(r)));
        await sleep(1_000);
      }
    },
  },
];

export const SHORT_FAULTS = ['kill-dispatcher', 'smtp-down'];

export function selectFaults(ids: readonly string[] | undefined): Fault[] {
  if (!ids || ids.length === 0) return [...FAULTS];
  return ids.map((id) => {
    const f = FAULTS.find((x) => x.id === id);
    if (!f) throw new Error(`unknown fault "${id}" (known: ${FAULTS.map((x) => x.id).join(', ')})`);
    return f;
  });
}
