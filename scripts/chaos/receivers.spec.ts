import { describe, expect, it } from '@jest/globals';
import { ChaosReceivers, failsFirstAttempt, statusFor } from './receivers.js';

describe('chaos receivers', () => {
  it('answers by behaviour: a recovering endpoint fails only the first attempt of about half the deliveries', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `dlv_${i}`);
    const failing = ids.filter(failsFirstAttempt);
    expect(failing.length).toBeGreaterThan(150);
    expect(failing.length).toBeLessThan(250);
    for (const id of ids) {
      expect(statusFor('healthy', id, 1)).toBe(200);
      expect(statusFor('slow', id, 1)).toBe(200);
      expect(statusFor('failing', id, 5)).toBe(500);
      expect(statusFor('recovering', id, 1)).toBe(failsFirstAttempt(id) ? 503 : 200);
      expect(statusFor('recovering', id, 2)).toBe(200);
    }
  });

  it('records each request with its event id, delivery id, status and webhook', async () => {
    const rx = new ChaosReceivers(10);
    await rx.start();
    try {
      rx.bind('recovering', 'r', 'wh_1');
      const id = ['dlv_0', 'dlv_1', 'dlv_2', 'dlv_3'].find(failsFirstAttempt)!;
      const post = (attempt: number) =>
        fetch(rx.urlFor('recovering', 'r'), { method: 'POST', headers: { 'x-odis-event-id': 'evt_1', 'x-odis-delivery-id': id, 'x-odis-attempt': String(attempt) }, body: '{}' });
      expect((await post(1)).status).toBe(503);
      expect((await post(2)).status).toBe(200);
      expect(rx.requests.map((r) => [r.webhookId, r.eventId, r.deliveryId, r.status])).toEqual([
        ['wh_1', 'evt_1', id, 503],
        ['wh_1', 'evt_1', id, 200],
      ]);
    } finally {
      await rx.close();
    }
  });
});
