import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '@odis/contracts';
import { reencryptSecrets } from './secrets.command.js';

describe('reencryptSecrets', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const lostKey = randomBytes(32);

  function fakeStore(rows: { id: string; accountId: string; secretEncrypted: string }[]) {
    const pages: (string | null)[] = [];
    return {
      rows,
      pages,
      async secretsPage(after: string | null, limit: number) {
        pages.push(after);
        return rows.filter((r) => after === null || r.id > after).slice(0, limit).map((r) => ({ ...r }));
      },
      async reencryptSecret(_account: string, id: string, reseal: (sealed: string, id: string) => string | null) {
        const row = rows.find((r) => r.id === id)!;
        const sealed = reseal(row.secretEncrypted, id);
        if (sealed === null) return 'current' as const;
        row.secretEncrypted = sealed;
        return 'reencrypted' as const;
      },
    };
  }

  it('re-encrypts old secrets in pages, leaves current ones alone, counts failures, and is idempotent', async () => {
    const store = fakeStore([
      { id: 'wh_1', accountId: 'a', secretEncrypted: new SecretBox([oldKey]).encrypt('s1', 'wh_1') },
      { id: 'wh_2', accountId: 'a', secretEncrypted: new SecretBox([newKey]).encrypt('s2', 'wh_2') },
      { id: 'wh_3', accountId: 'b', secretEncrypted: new SecretBox([lostKey]).encrypt('s3', 'wh_3') },
      { id: 'wh_4', accountId: 'b', secretEncrypted: new SecretBox([oldKey]).encrypt('s4', 'wh_4') },
    ]);
    const box = new SecretBox([newKey, oldKey]);
    const counts = await reencryptSecrets(store, box, { batchSize: 3 });
    expect(counts).toMatchObject({ reencrypted: 2, alreadyCurrent: 1, failed: 1, gone: 0 });
    expect(counts.failures).toEqual([{ id: 'wh_3', reason: expect.stringMatching(/no key with id/) }]);
    expect(store.pages).toEqual([null, 'wh_3', 'wh_4']);
    const onlyNew = new SecretBox([newKey]);
    expect(['wh_1', 'wh_2', 'wh_4'].map((id) => onlyNew.decrypt(store.rows.find((r) => r.id === id)!.secretEncrypted, id))).toEqual(['s1', 's2', 's4']);

    const again = await reencryptSecrets(store, box, { batchSize: 3 });
    expect(again).toMatchObject({ reencrypted: 0, alreadyCurrent: 3, failed: 1 });
  });
});
