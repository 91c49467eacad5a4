import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it: the exact body bytes and the headers (names lower-cased). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Epoch milliseconds at which the whole body had arrived. */
  receivedAt: number;
  /** 1-based arrival order on this receiver. */
  seq: number;
  /** The client's port: equal ports on consecutive requests mean a reused keep-alive connection. */
  remotePort: number;
}

export interface TestReply {
  status: number;
  /** Wait this long before answering (a "hanging" endpoint: longer than the sender's timeout). */
  delayMs?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestReceiverOptions {
  /** Decides each reply; default 200 with an empty body. */
  respond?: (req: ReceivedRequest) => TestReply | Promise<TestReply>;
  /** Called as each request arrives (before the reply). */
  onRequest?: (req: ReceivedRequest) => void;
  /** Called when the sender gives up on a request before it was answered (e.g. its timeout). */
  onAbort?: (req: ReceivedRequest) => void;
  /** Keep the bodies in `requests` (default true; a benchmark may turn it off and count instead). */
  keepRequests?: boolean;
}

export interface TestReceiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Number of requests received (also counted when keepRequests is false). */
  readonly count: number;
  /** Resolves once `n` requests have arrived (rejects after `timeoutMs`). */
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
  /** Closes the server and drops every open connection, including ones still waiting for a reply. */
  close(): Promise<void>;
}

/** A tiny real HTTP receiver on 127.0.0.1 with an ephemeral port, for tests and benchmarks. */
export async function startTestReceiver(options: TestReceiverOptions = {}): Promise<TestReceiver> {
  const keep = options.keepRequests ?? true;
  const requests: ReceivedRequest[] = [];
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const reply = (res: ServerResponse, r: TestReply) => {
    if (closed || res.destroyed) return;
    res.writeHead(r.status, { 'content-type': 'text/plain', ...(r.headers ?? {}) });
    res.end(r.body ?? '');
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      count += 1;
      const received: ReceivedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
        receivedAt: Date.now(),
        seq: count,
        remotePort: req.socket.remotePort ?? 0,
      };
      if (keep) requests.push(received);
      options.onRequest?.(received);
      if (options.onAbort) {
        res.once('close', () => {
          if (!res.writableEnded && !closed) options.onAbort!(received);
        });
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (count >= waiters[i].n) {
          waiters[i].resolve();
          waiters.splice(i, 1);
        }
      }
      if (!options.respond) return reply(res, { status: 200 });
      Promise.resolve(options.respond(received)).then(
        (r) => {
          if (closed) return;
          if (r.delayMs && r.delayMs > 0) {
            const timer = setTimeout(() => {
              timers.delete(timer);
              reply(res, r);
            }, r.delayMs);
            timers.add(timer);
          } else {
            reply(res, r);
          }
        },
        () => reply(res, { status: 500, body: 'receiver error' }),
      );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get count() {
      return count;
    },
    waitForCount(n: number, timeoutMs = 30_000) {
      if (count >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const entry = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`receiver got ${count} of ${n} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(entry);
      });
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
