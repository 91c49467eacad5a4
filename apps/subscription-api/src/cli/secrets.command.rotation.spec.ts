import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '@odis/contracts';
import { reencryptSecrets } from './secrets.command.js';

describe('reencryptSecrets with a rotation in its overlap (decision 0010)', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('a current secret whose previous secret is under an old key is not "current": the store re-seals both', async () => {
    const row = { id: 'wh_1', accountId: 'a', secretEncrypted: new SecretBox([newKey]).encrypt('new', 'wh_1'), previousSecretEncrypted: new SecretBox([oldKey]).encrypt('old', 'wh_1') as string | null };
    const box = new SecretBox([newKey, oldKey]);
    const store = {
      async secretsPage(after: string | null) {
        return after === null ? [{ ...row }] : [];
      },
      async reencryptSecret(_a: string, id: string, reseal: (sealed: string, id: string) => string | null) {
        const current = reseal(row.secretEncrypted, id);
        const previous = row.previousSecretEncrypted ? reseal(row.previousSecretEncrypted, id) : null;
        if (current === null && previous === null) return 'current' as const;
        if (current) row.secretEncrypted = current;
        if (previous) row.previousSecretEncrypted = previous;
        return 'reencrypted' as const;
      },
    };
    expect(await reencryptSecrets(store, box, { batchSize: 10 })).toMatchObject({ reencrypted: 1, alreadyCurrent: 0, failed: 0 });
    expect(new SecretBox([newKey]).decrypt(row.previousSecretEncrypted!, 'wh_1')).toBe('old');
    expect(await reencryptSecrets(store, box, { batchSize: 10 })).toMatchObject({ reencrypted: 0, alreadyCurrent: 1, failed: 0 });
  });
});
