import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { sleep } from '@odis/config';
import { DeliveryJobCodec, TOPICS, type EventType } from '@odis/contracts';
import { describeError, KafkaConnection, MessageProducer } from '@odis/messaging';
import { PollingLoop } from '@odis/platform';
import { SubscriptionStore } from '@odis/subscriptions';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import { planRanges, readRanges } from './partition-range-reader.js';
import { RecoveriesRepository, type RecoveryRow } from './recoveries.repository.js';
import { chunkSize, matchRecord, paceDelay, recoveryJob, topicsFor, type RecoveryScope } from './recovery-plan.js';

/** How long a claimed recovery stays with its runner without a renewal (renewed every 5 s while it runs). */
export const RECOVERY_LEASE_MS = 30_000;

/**
 * Runs queued recoveries (decision 0011), one at a time per replica: claims a row with a lease (so
 * replicas never run one twice, and a dead runner's recovery is taken over after the lease), reads the
 * account's partition of each type's topic over the window, and for each matching event records the
 * new delivery id and produces its job to `webhooks.deliveries`. Delivery ids are deterministic per
 * (event, webhook, recovery), so a take-over re-produces the same ids, and only those the delivery log
 * has no attempt of (the others the dispatcher already had). Production is paced to
 * `RECOVERY_JOBS_PER_SECOND` per replica.
 */
@Injectable()
export class RecoveryRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RecoveryRunner');
  private readonly owner = `recovery-runner-${randomUUID()}`;
  private readonly loop: PollingLoop;
  private readonly stopController = new AbortController();

  constructor(
    private readonly repo: RecoveriesRepository,
    private readonly store: SubscriptionStore,
    private readonly kafka: KafkaConnection,
    private readonly producer: MessageProducer,
    @Inject(SUBSCRIPTION_API_CONFIG) private readonly config: SubscriptionApiConfig,
  ) {
    this.loop = new PollingLoop({
      pass: () => this.pass(),
      // A recovery is started by the replica that queued it (RecoveriesService wakes its runner), so
      // the poll only picks up leases another replica let expire: slow, so the idle API costs nothing.
      idleMs: 30_000,
      errorBackoff: { initial: 500, max: 15_000 },
      onError: (error, _failures, wait) => {
        if (!this.stopController.signal.aborted) this.logger.warn(`recovery runner: ${describeError(error)}; retrying in ${wait} ms`);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopController.abort(new Error('shutting down'));
    await this.loop.stop();
  }

  /** A new recovery was queued: look at once. */
  wake(): void {
    this.loop.wake();
  }

  private async pass(): Promise<number | null> {
    // Started on bootstrap, before the app connects the database: wait for it quietly (no warning).
    if (!this.repo.connected) return 500;
    const recovery = await this.repo.claim(this.owner, RECOVERY_LEASE_MS);
    if (!recovery) return null;
    await this.run(recovery);
    return 0;
  }

  private async run(recovery: RecoveryRow): Promise<void> {
    const webhook = await this.store.get(recovery.accountId, recovery.subscriptionId);
    const scope: RecoveryScope = {
      accountId: recovery.accountId,
      eventTypes: (webhook?.events ?? []) as EventType[],
      sinceMs: recovery.since.getTime(),
      untilMs: recovery.until.getTime(),
    };
    // Deleted or disabled since the request: nothing is produced (a disabled webhook would skip it anyway).
    if (webhook && !webhook.deletedAt && webhook.status === 'active') {
      const admin = this.kafka.kafka.admin();
      await admin.connect();
      const ranges = await planRanges(admin, topicsFor(scope.eventTypes), scope.accountId, scope.sinceMs, scope.untilMs).finally(() => admin.disconnect().catch(() => undefined));
      // A take-over (an earlier run died: crash, lost lease, Kafka or Postgres away) re-reads the window
      // but does not produce again what the delivery log shows attempted: those the dispatcher had.
      const resuming = await this.repo.hasDeliveries(recovery.id);
      const perSecond = this.config.RECOVERY_JOBS_PER_SECOND;
      const maxChunk = chunkSize(perSecond);
      const startedMs = Date.now();
      let sent = 0;
      let chunk: ReturnType<typeof recoveryJob>[] = [];
      const flush = async () => {
        if (chunk.length === 0) return;
        const jobs = chunk;
        chunk = [];
        await this.repo.addDeliveries(recovery.id, jobs.map((j) => ({ deliveryId: j.delivery_id, eventId: j.event_id })));
        const done = resuming ? await this.repo.attempted(jobs.map((j) => j.delivery_id)) : new Set<string>();
        const due = done.size ? jobs.filter((j) => !done.has(j.delivery_id)) : jobs;
        if (due.length === 0) return;
        await this.producer.send(TOPICS.deliveries, due.map((j) => DeliveryJobCodec.encode(j)));
        sent += due.length;
        // Paced, so a large replay leaves the dispatcher room for live deliveries.
        const wait = paceDelay(sent, startedMs, Date.now(), perSecond);
        if (wait > 0 && !(await sleep(wait, this.stopController.signal))) throw new Error('shutting down');
      };
      const target = { id: webhook.id, url: webhook.url, secretEncrypted: webhook.secretEncrypted };
      await readRanges(
        this.kafka.kafka,
        ranges,
        async (record) => {
          const event = matchRecord(record, scope);
          if (!event) return;
          chunk.push(recoveryJob(event, target, recovery.id, Date.now()));
          if (chunk.length >= maxChunk) await flush();
        },
        {
          groupIdPrefix: 'subscription-api-recovery',
          signal: this.stopController.signal,
          onTick: async () => {
            if (!(await this.repo.renew(recovery.id, this.owner, RECOVERY_LEASE_MS))) throw new Error(`lost the lease of ${recovery.id}`);
          },
        },
      );
      await flush();
    }
    if (await this.repo.finish(recovery.id, this.owner)) this.logger.log(`recovery ${recovery.id} produced its deliveries`);
  }
}
