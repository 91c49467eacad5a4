import { describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { startTestReceiver } from './test-receiver.js';

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('startTestReceiver', () => {
  it('records raw bytes and headers and replies 200 by default', async () => {
    const receiver = await startTestReceiver();
    try {
      expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await post(`${receiver.url}/hook`, '{"a": 1}', { 'X-ODIS-Event': 'call.started' });
      expect(res.status).toBe(200);
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0].body.toString()).toBe('{"a": 1}');
      expect(receiver.requests[0].headers['x-odis-event']).toBe('call.started');
      expect(receiver.requests[0].path).toBe('/hook');
      expect(receiver.count).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it('answers with the chosen status after a delay, and close() drops hanging requests', async () => {
    const receiver = await startTestReceiver({ respond: (r) => (r.path === '/slow' ? { status: 200, delayMs: 60_000 } : { status: 503, body: 'busy' }) });
    const res = await post(receiver.url, 'x');
    expect(res).toEqual({ status: 503, body: 'busy' });
    const hanging = post(`${receiver.url}/slow`, 'y').catch((err: Error) => err);
    await receiver.waitForCount(2, 5000);
    await receiver.close();
    expect(await hanging).toHaveProperty("code", "ECONNRESET");
  });

  it('waitForCount rejects when not enough requests arrive', async () => {
    const receiver = await startTestReceiver();
    try {
      await expect(receiver.waitForCount(1, 50)).rejects.toThrow('receiver got 0 of 1');
    } finally {
      await receiver.close();
    }
  });
});
