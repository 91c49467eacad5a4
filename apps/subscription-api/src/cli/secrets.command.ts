import { SecretBox } from '@odis/contracts';
import type { SubscriptionStore } from '@odis/subscriptions';

export interface ReencryptCounts {
  reencrypted: number;
  alreadyCurrent: number;
  failed: number;
  /** Webhooks deleted between the page read and their turn (nothing to do). */
  gone: number;
  failures: { id: string; reason: string }[];
}

/**
 * `secrets reencrypt`: seals every live webhook's secret with the current key, in pages of
 * `batchSize` (id order), each webhook in its own transaction through the event store, so each gets
 * a `secret_reencrypted` event, its read-model row and a new changelog snapshot (the dispatchers
 * read the ciphertext from there). Idempotent: a secret already under the current key is left
 * alone, so the command can be re-run after a failure. Once it reports 0 failed and the outbox has
 * drained, the previous keys can be removed from SECRET_ENCRYPTION_KEY_PREVIOUS everywhere.
 */
export async function reencryptSecrets(
  store: Pick<SubscriptionStore, 'secretsPage' | 'reencryptSecret'>,
  box: SecretBox,
  options: { batchSize: number; onProgress?: (counts: ReencryptCounts) => void } = { batchSize: 200 },
): Promise<ReencryptCounts> {
  const counts: ReencryptCounts = { reencrypted: 0, alreadyCurrent: 0, failed: 0, gone: 0, failures: [] };
  let after: string | null = null;
  for (;;) {
    const page = await store.secretsPage(after, options.batchSize);
    if (page.length === 0) break;
    for (const row of page) {
      // A rotation's previous secret (still in its overlap) must be under the current key too.
      if (box.isCurrent(row.secretEncrypted) && (row.previousSecretEncrypted == null || box.isCurrent(row.previousSecretEncrypted))) {
        // Only counted current if it also authenticates; a current-key ciphertext that does not is a failure.
        try {
          box.decrypt(row.secretEncrypted, row.id);
          if (row.previousSecretEncrypted != null) box.decrypt(row.previousSecretEncrypted, row.id);
          counts.alreadyCurrent++;
        } catch (err) {
          counts.failed++;
          if (counts.failures.length < 100) counts.failures.push({ id: row.id, reason: (err as Error).message });
        }
        continue;
      }
      try {
        const outcome = await store.reencryptSecret(row.accountId, row.id, (sealed, id) => box.reencrypt(sealed, id), 'system:secrets-reencrypt');
        if (outcome === 'reencrypted') counts.reencrypted++;
        else if (outcome === 'current') counts.alreadyCurrent++;
        else counts.gone++;
      } catch (err) {
        counts.failed++;
        if (counts.failures.length < 100) counts.failures.push({ id: row.id, reason: (err as Error).message });
      }
    }
    after = page[page.length - 1].id;
    options.onProgress?.(counts);
  }
  return counts;
}
