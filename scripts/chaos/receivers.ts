/** The chaos run's webhook endpoints: one HTTP server per behaviour, each request recorded with its ids. */
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ReceivedRequest } from './reconciler.js';

/** healthy: 200 at once · slow: 200 after a delay · recovering: 503 on the first attempt of half the deliveries · failing: always 500. */
export type Behaviour = 'healthy' | 'slow' | 'recovering' | 'failing';

/** Deterministic: half the delivery ids fail their first attempt. */
export function failsFirstAttempt(deliveryId: string): boolean {
  return (createHash('sha256').update(deliveryId).digest()[0]! & 1) === 0;
}

export function statusFor(behaviour: Behaviour, deliveryId: string, attempt: number): number {
  if (behaviour === 'failing') return 500;
  if (behaviour === 'recovering' && attempt <= 1 && failsFirstAttempt(deliveryId)) return 503;
  return 200;
}

/** A server per behaviour (the dispatcher bounds concurrency per origin, so each has its own port); paths are `/<label>`. */
export class ChaosReceivers {
  readonly requests: ReceivedRequest[] = [];
  private readonly servers = new Map<Behaviour, { server: Server; url: string }>();
  /** path → webhook id, filled in once the webhook exists. */
  private readonly webhookOfPath = new Map<string, string>();

  constructor(private readonly slowMs = 150) {}

  async start(): Promise<void> {
    for (const behaviour of ['healthy', 'slow', 'recovering', 'failing'] as const) {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const deliveryId = String(req.headers['x-odis-delivery-id'] ?? '');
          const eventId = String(req.headers['x-odis-event-id'] ?? '');
          const attempt = Number(req.headers['x-odis-attempt'] ?? 1);
          const status = statusFor(behaviour, deliveryId, attempt);
          const answer = () => {
            res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
            const webhookId = this.webhookOfPath.get(req.url ?? '') ?? `unknown:${req.url}`;
            this.requests.push({ webhookId, eventId, deliveryId, status, at: Date.now() });
          };
          if (behaviour === 'slow') setTimeout(answer, this.slowMs);
          else answer();
        });
      });
      server.keepAliveTimeout = 30_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      this.servers.set(behaviour, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
  }

  urlFor(behaviour: Behaviour, label: string): string {
    return `${this.servers.get(behaviour)!.url}/${label}`;
  }

  bind(behaviour: Behaviour, label: string, webhookId: string): void {
    this.webhookOfPath.set(`/${label}`, webhookId);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.servers.values()].map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }
}
