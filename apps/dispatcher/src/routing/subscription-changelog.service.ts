import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SecretBox, TOPICS } from '@odis/contracts';
import type { Admin } from 'kafkajs';
import { KafkaConnection, readTopicToEnd, type TopicReader } from '@odis/messaging';
import { retryWithBackoff } from '@odis/config';
import { ReadinessRegistry } from '@odis/platform';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { ChangelogFollowerMonitor } from './changelog-follower.monitor.js';
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
  readonly follower: ChangelogFollowerMonitor;
  private readonly maxLagMs: number;
  private probeTimer: NodeJS.Timeout | null = null;
  private admin: Admin | null = null;

  constructor(
    private readonly table: RoutingTable,
    private readonly connection: KafkaConnection,
    @Inject(SecretBox) box: SecretBox,
    readiness: ReadinessRegistry,
    @Inject(DISPATCHER_CONFIG) config: Pick<DispatcherConfig, 'DISPATCH_CHANGELOG_MAX_LAG_MS'>,
  ) {
    this.maxLagMs = config.DISPATCH_CHANGELOG_MAX_LAG_MS;
    this.follower = new ChangelogFollowerMonitor(this.maxLagMs);
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
    // A snapshot whose secret no configured key decrypts: its webhook is not routed (fail closed),
    // which must never pass unnoticed.
    readiness.register('undecryptable-secrets', () => {
      const u = this.applier.undecryptable();
      if (u.count === 0) return { ok: true, detail: '0 webhooks' };
      return {
        ok: false,
        detail: `${u.count} webhooks (${u.ids.join(', ')}${u.count > u.ids.length ? ', …' : ''}) have a secret sealed with a key not configured (key ids ${u.keyIds.join(', ')}); not routed until SECRET_ENCRYPTION_KEY_PREVIOUS holds that key or \`secrets reencrypt\` ran`,
      };
    });
    readiness.register('changelog-follower', () =>
      this.isCaughtUp ? this.follower.health(Date.now(), this.reader?.following === true) : { ok: true, detail: 'catching up (see routing-table)' },
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
    if (this.probeTimer) clearTimeout(this.probeTimer);
    await this.reader?.stop();
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** Reads the topic's end offsets for the follower's lag check, then schedules the next probe. */
  private async probe(): Promise<void> {
    try {
      this.admin ??= this.connection.kafka.admin();
      await this.admin.connect();
      const offsets = await this.admin.fetchTopicOffsets(TOPICS.subscriptions);
      const ends = new Map<number, bigint>();
      for (const { partition, high, low } of offsets) if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
      this.follower.observeEnds(ends, Date.now());
    } catch (err) {
      this.follower.probeFailed((err as Error).message, Date.now());
    }
    if (this.abort.signal.aborted) return;
    this.probeTimer = setTimeout(() => void this.probe(), Math.min(10_000, Math.max(250, Math.floor(this.maxLagMs / 4))));
    this.probeTimer.unref();
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
              this.follower.delivered(m.partition, m.offset);
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
    const undecryptable = this.applier.undecryptable();
    if (undecryptable.count > 0) {
      this.logger.error(`${undecryptable.count} webhooks have a secret no configured key decrypts (key ids ${undecryptable.keyIds.join(', ')}): they are not routed; /ready is red`);
    }
    void this.probe();
  }
}
