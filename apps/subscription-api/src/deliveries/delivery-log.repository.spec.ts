import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor } from './delivery-log.repository.js';

describe('delivery log cursor', () => {
  it('round-trips the exact time and the id', () => {
    const cursor = { attemptedAt: '2026-01-02T03:04:05.123456Z', attemptId: 'att_01HZX-1' };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^dc1_[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it('refuses what it did not make', () => {
    expect(decodeCursor('2026-01-02T03:04:05Z')).toBeNull();
    expect(decodeCursor('dc1_!!!')).toBeNull();
    expect(decodeCursor(`dc1_${Buffer.from("2026-01-02T03:04:05Z|x' OR 1=1").toString('base64url')}`)).toBeNull();
    expect(decodeCursor(`dc1_${Buffer.from('yesterday|att_1').toString('base64url')}`)).toBeNull();
  });
});
