import { Inject, Injectable } from '@nestjs/common';
import type { EventType } from '@odis/contracts';
import { KafkaConnection } from '@odis/messaging';
import { ApiError } from '@odis/platform';
import { SubscriptionStore } from '@odis/subscriptions';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import { planRanges, readRanges, type PartitionRange } from './partition-range-reader.js';
import { RecoveriesRepository, type RecoveryRow } from './recoveries.repository.js';
import { matchRecord, newRecoveryId, recoveryWindow, topicsFor, type RecoveryScope } from './recovery-plan.js';
import { RecoveryRunner } from './recovery-runner.js';

export interface RecoverBody {
  since: string;
  until?: string;
  dry_run?: boolean;
}

export interface RecoveryView {
  object: 'recovery';
  id: string;
  webhook_id: string;
  status: 'dry_run' | 'queued' | 'running' | 'done';
  since: string;
  until: string;
  events: number;
  delivered: number;
  failed: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * `POST /v1/webhooks/{id}/recover`: checks the webhook (404, 409 when disabled) and the window (400
 * beyond retention), counts the account's events of the webhook's types in [since, until) by streaming
 * the account's partition of each type's topic, and records the recovery (queued, or dry_run).
 */
@Injectable()
export class RecoveriesService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly repo: RecoveriesRepository,
    private readonly kafka: KafkaConnection,
    private readonly runner: RecoveryRunner,
    @Inject(SUBSCRIPTION_API_CONFIG) private readonly config: SubscriptionApiConfig,
  ) {}

  async recover(accountId: string, webhookId: string, body: RecoverBody, nowMs = Date.now()): Promise<{ object: 'recovery'; id: string; status: 'queued' | 'dry_run'; events: number }> {
    const webhook = await this.store.get(accountId, webhookId);
    if (!webhook || webhook.deletedAt) throw ApiError.notFound('webhook', webhookId);
    if (webhook.status !== 'active') throw ApiError.conflict('the webhook is disabled: re-enable it first (PATCH /v1/webhooks/{id} with {"status":"active"}), then recover');
    const { sinceMs, untilMs } = recoveryWindow(body, this.config.EVENT_RETENTION_DAYS, nowMs);
    const scope: RecoveryScope = { accountId, eventTypes: webhook.events as EventType[], sinceMs, untilMs };
    const events = await countEvents(this.kafka, scope);
    const id = newRecoveryId();
    const status = body.dry_run ? 'dry_run' : 'queued';
    await this.repo.insert({ id, accountId, subscriptionId: webhookId, since: new Date(sinceMs), until: new Date(untilMs), status, events });
    if (status === 'queued') this.runner.wake();
    return { object: 'recovery', id, status, events };
  }

  async get(accountId: string, webhookId: string, recoveryId: string): Promise<RecoveryView> {
    const row = await this.repo.get(accountId, webhookId, recoveryId);
    if (!row) throw ApiError.notFound('recovery', recoveryId);
    const progress = row.status === 'dry_run' ? { delivered: 0, failed: 0 } : await this.repo.progress(row.id);
    return presentRecovery(row, progress);
  }
}

/** Done once every produced delivery has settled (succeeded, or failed with no attempt left). */
export function presentRecovery(row: RecoveryRow, progress: { delivered: number; failed: number }): RecoveryView {
  const settled = progress.delivered + progress.failed >= row.events;
  const status = row.status === 'produced' ? (settled ? 'done' : 'running') : row.status;
  return {
    object: 'recovery',
    id: row.id,
    webhook_id: row.subscriptionId,
    status,
    since: row.since.toISOString(),
    until: row.until.toISOString(),
    events: row.events,
    delivered: progress.delivered,
    failed: progress.failed,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

/** The account's partition of each type's topic for the window (an admin client per call). */
export async function rangesFor(kafka: KafkaConnection, scope: RecoveryScope): Promise<PartitionRange[]> {
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    return await planRanges(admin, topicsFor(scope.eventTypes), scope.accountId, scope.sinceMs, scope.untilMs);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Longest a request may spend counting; beyond it the request is a 503 (Kafka away or the range too large). */
export const RECOVERY_COUNT_TIMEOUT_MS = 60_000;

/** Counts the matching events by streaming the ranges (nothing is kept in memory but the count). */
export async function countEvents(kafka: KafkaConnection, scope: RecoveryScope, timeoutMs = RECOVERY_COUNT_TIMEOUT_MS): Promise<number> {
  const ranges = await rangesFor(kafka, scope);
  let count = 0;
  const signal = AbortSignal.timeout(timeoutMs);
  await readRanges(
    kafka.kafka,
    ranges,
    async (record) => {
      if (matchRecord(record, scope)) count++;
    },
    { groupIdPrefix: 'subscription-api-recovery-count', signal },
  ).catch((error: unknown) => {
    if (signal.aborted) throw ApiError.unavailable(5, `counting the events took longer than ${timeoutMs / 1000} s; retry shortly`);
    throw error;
  });
  return count;
}
