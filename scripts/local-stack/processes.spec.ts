import { describe, it, expect } from '@jest/globals';
import { ProcessRegistry, killGroup, runCommand } from './processes.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const waitUntil = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('process registry', () => {
  it('spawns in its own process group and stop() also reaches grandchildren', async () => {
    const registry = new ProcessRegistry();
    const lines: string[] = [];
    // The shell starts a grandchild (sleep) and reports its pid; the shell ignores SIGTERM.
    const p = registry.spawn('tree', 'sh', ['-c', 'trap "" TERM; sleep 300 & echo $!; wait'], { onLine: (l) => lines.push(l) });
    await waitUntil(() => lines.length > 0);
    const grandchild = Number(lines[0]);
    expect(alive(grandchild)).toBe(true);
    expect(registry.running).toHaveLength(1);

    const t0 = Date.now();
    const info = await p.stop({ timeoutMs: 300 }); // TERM is ignored by sh → SIGKILL after 300 ms
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(info.signal).toBe('SIGKILL');
    await waitUntil(() => !alive(grandchild));
    expect(registry.running).toHaveLength(0);
    expect(killGroup(p.pid, 'SIGTERM')).toBe(false);
  });

  it('stopAll runs the cleanup hooks latest first, then stops what still runs', async () => {
    const registry = new ProcessRegistry();
    const order: string[] = [];
    registry.onShutdown(async () => void order.push('first registered'));
    const unregister = registry.onShutdown(async () => void order.push('removed'));
    registry.onShutdown(async () => void order.push('last registered'));
    unregister();
    const p = registry.spawn('sleeper', 'sleep', ['300']);
    await registry.stopAll();
    expect(order).toEqual(['last registered', 'first registered']);
    expect(p.hasExited).toBe(true);
    expect(p.exitInfo?.signal).toBe('SIGTERM');
  });

  it('killAllSync kills every registered group at once', async () => {
    const registry = new ProcessRegistry();
    const a = registry.spawn('a', 'sleep', ['300']);
    const b = registry.spawn('b', 'sleep', ['300']);
    registry.killAllSync();
    expect((await a.exited).signal).toBe('SIGKILL');
    expect((await b.exited).signal).toBe('SIGKILL');
  });

  it('runCommand returns the output, and rejects with it on failure or timeout', async () => {
    expect((await runCommand('sh', ['-c', 'echo out; echo err >&2'])).stdout).toBe('out\n');
    await expect(runCommand('sh', ['-c', 'echo broken >&2; exit 3'], { name: 'tool' })).rejects.toThrow(/tool exited with 3[\s\S]*broken/);
    await expect(runCommand('sleep', ['30'], { timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms/);
  });

  it('reports a missing executable clearly', () => {
    expect(() => new ProcessRegistry().spawn('nope', '/definitely/not/here', [])).toThrow(/could not start nope/);
  });
});
