import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SecretBox, TOPICS } from '@odis/contracts';
import { KafkaConnection, readTopicToEnd, type TopicReader } from '@odis/messaging';
import { ReadinessRegistry, retryWithBackoff } from '@odis/platform';
import { RoutingTable } from './routing-table.js';
import { SubscriptionChangelogApplier } from './subscription-changelog.applier.js';

/**
 * Keeps the routing table current: reads `webhooks.subscriptions` from the beginning to its end at
 * start (`caughtUp` resolves then, and only then do the event consumers start), and follows it
 * afterwards, so a webhook disabled or deleted stops receiving within moments on every replica.
 */
@Injectable()
export class SubscriptionChangelogService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SubscriptionChangelog');
  readonly applier: SubscriptionChangelogApplier;
  private reader: TopicReader | null = null;
  private readonly abort = new AbortController();
  private isCaughtUp = false;
  private caughtUpAt: number | null = null;
  private resolveCaughtUp!: () => void;
  /** Resolves once the changelog has been read to the end it had at start. */
  readonly caughtUp: Promise<void> = new Promise((resolve) => (this.resolveCaughtUp = resolve));

  constructor(
    private readonly table: RoutingTable,
    private readonly connection: KafkaConnection,
    @Inject(SecretBox) box: SecretBox,
    readiness: ReadinessRegistry,
  ) {
    let skippedLogged = 0;
    this.applier = new SubscriptionChangelogApplier(table, (sealed, context) => box.decrypt(sealed, context), (reason, record) => {
      // Logged, never fatal; after many, only every 1000th (a bad key would otherwise flood the log).
      skippedLogged++;
      if (skippedLogged <= 100 || skippedLogged % 1000 === 0) {
        this.logger.error(`skipped subscription record ${record.partition ?? '?'}@${record.offset ?? '?'} (${skippedLogged} so far): ${reason}`);
      }
    });
    readiness.register('routing-table', () =>
      this.isCaughtUp
        ? { ok: true, detail: `${table.size} subscriptions (${table.activeCount} active)` }
        : { ok: false, detail: `reading ${TOPICS.subscriptions}: ${this.applier.stats.applied} applied so far` },
    );
  }

  get ready(): boolean {
    return this.isCaughtUp;
  }

  stats() {
    return { caught_up: this.isCaughtUp, caught_up_at: this.caughtUpAt, subscriptions: this.table.size, ...this.applier.stats };
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.abort.abort();
    await this.reader?.stop();
  }

  private async run(): Promise<void> {
    const started = Date.now();
    try {
      this.reader = await retryWithBackoff(
        () =>
          readTopicToEnd(this.connection, {
            topic: TOPICS.subscriptions,
            follow: true,
            groupIdPrefix: 'dispatcher-routing',
            onMessage: (m) => {
              this.applier.apply(m);
            },
          }),
        {
          signal: this.abort.signal,
          initialMs: 500,
          maxMs: 10_000,
          onError: (err, attempt, wait) => this.logger.warn(`cannot read ${TOPICS.subscriptions} (attempt ${attempt}): ${(err as Error).message}; retrying in ${wait} ms`),
        },
      );
    } catch (err) {
      if (!this.abort.signal.aborted) this.logger.error(`routing table failed: ${(err as Error).message}`);
      return;
    }
    this.isCaughtUp = true;
    this.caughtUpAt = Date.now();
    this.logger.log(
      `routing table caught up in ${Date.now() - started} ms: ${this.table.size} subscriptions (${this.table.activeCount} active), ${this.applier.stats.skipped} skipped`,
    );
    this.resolveCaughtUp();
  }
}
