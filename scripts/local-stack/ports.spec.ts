import { describe, it, expect } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { canConnect, findFreePort, isPortFree, pickPort } from './ports.js';

const listen = (port = 0): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('ports', () => {
  it('finds a port that can be bound, never the same one twice', async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, () => findFreePort()));
    expect(new Set(ports).size).toBe(10);
    const s = await listen(ports[0]);
    expect(portOf(s)).toBe(ports[0]);
    await close(s);
  });

  it('tells a taken port from a free one', async () => {
    const s = await listen();
    const port = portOf(s);
    expect(await isPortFree(port)).toBe(false);
    expect(await canConnect(port)).toBe(true);
    await close(s);
    expect(await isPortFree(port)).toBe(true);
    expect(await canConnect(port)).toBe(false);
  });

  it('keeps a free preferred port and replaces a taken one', async () => {
    const taken = await listen();
    const takenPort = portOf(taken);
    const replaced = await pickPort(takenPort);
    expect(replaced).not.toBe(takenPort);
    await close(taken);

    const probe = await listen();
    const free = portOf(probe);
    await close(probe);
    expect(await pickPort(free)).toBe(free);
    // …but it is not handed out a second time
    expect(await pickPort(free)).not.toBe(free);
    expect(await pickPort(undefined)).toBeGreaterThan(0);
  });
});
