import { createServer } from 'node:http';

/**
 * The webhook receiver of the dispatch benchmark, run as its own process (forked by
 * dispatch.bench.ts, IPC channel) so it never shares an event loop with the producer or the got
 * ceiling client. Listens on 127.0.0.1 (ephemeral port), keep-alive on, answers every request 200
 * with an empty body as soon as its body has arrived, and records per request its receive time
 * (epoch ms, sub-millisecond: performance.timeOrigin + performance.now(), the same clock the bench
 * uses), its path and its X-ODIS-Delivery-Id; with `parse` on it also extracts `data.call_id` from
 * the body (latency matching). The parent asks for the figures over IPC.
 */
type Command =
  | { id: number; cmd: 'reset'; parse?: boolean }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'report' }
  | { id: number; cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();

let parse = false;
let count = 0;
let duplicates = 0;
let times: number[] = [];
let ids = new Set<string>();
let paths = new Map<string, number>();
let calls: Array<[string, number]> = [];
let connections = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] | null = parse ? [] : null;
  req.on('data', (chunk: Buffer) => chunks?.push(chunk));
  req.on('end', () => {
    const t = now();
    res.writeHead(200, { 'content-length': '0' });
    res.end();
    count++;
    times.push(t);
    const id = req.headers['x-odis-delivery-id'];
    if (typeof id === 'string') {
      if (ids.has(id)) duplicates++;
      else ids.add(id);
    }
    const path = req.url ?? '/';
    paths.set(path, (paths.get(path) ?? 0) + 1);
    if (chunks) {
      try {
        const callId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { call_id?: string } }).data?.call_id;
        if (typeof callId === 'string') calls.push([callId, t]);
      } catch {
        // not JSON: not one of ours
      }
    }
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 61_000;
server.on('connection', () => connections++);

const send = (message: unknown) => process.send?.(message);

process.on('message', (m: Command) => {
  switch (m.cmd) {
    case 'reset':
      parse = !!m.parse;
      count = 0;
      duplicates = 0;
      times = [];
      ids = new Set();
      paths = new Map();
      calls = [];
      connections = 0;
      send({ id: m.id, ok: true });
      break;
    case 'count':
      send({ id: m.id, count });
      break;
    case 'report':
      send({ id: m.id, count, unique: ids.size, duplicates, connections, times: Float64Array.from(times), paths: [...paths], calls });
      break;
    case 'close':
      server.closeAllConnections();
      server.close(() => process.exit(0));
      send({ id: m.id, ok: true });
      setTimeout(() => process.exit(0), 1_000).unref();
      break;
  }
});
// The bench is gone (even killed): so are we.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
