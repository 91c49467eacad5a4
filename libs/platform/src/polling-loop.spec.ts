import { afterEach, describe, expect, it } from '@jest/globals';
import { PollingLoop, type PollingLoopOptions } from './polling-loop.js';

const loops: PollingLoop[] = [];
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop()));
});

function loop(options: Partial<PollingLoopOptions> & Pick<PollingLoopOptions, 'pass'>): PollingLoop {
  const l = new PollingLoop({ idleMs: 10_000, errorBackoff: { initial: 10, max: 40 }, ...options });
  loops.push(l);
  return l;
}

async function until(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('PollingLoop', () => {
  it('runs a pass, then sleeps the idle wait until woken', async () => {
    let passes = 0;
    const l = loop({ pass: async () => (passes++, null) });
    l.start();
    await until(() => passes === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).toBe(1); // asleep for idleMs (10 s)
    l.wake();
    await until(() => passes === 2);
  });

  it('runs the next pass at once when a pass asks for 0 ms, or when woken during a pass', async () => {
    let passes = 0;
    let release!: () => void;
    const l = loop({
      pass: async () => {
        passes++;
        if (passes === 1) return 0; // more work: go again
        if (passes === 2) await new Promise<void>((r) => (release = r)); // a wake arrives meanwhile
        return null;
      },
    });
    l.start();
    await until(() => passes === 2);
    l.wake();
    release();
    await until(() => passes === 3); // the wake during pass 2 was not lost
  });

  it('waits the growing error backoff after failed passes and reports each failure', async () => {
    const waits: number[] = [];
    let passes = 0;
    const l = loop({
      pass: async () => {
        passes++;
        if (passes <= 4) throw new Error('database away');
        return null;
      },
      onError: (_err, _failures, wait) => void waits.push(wait),
    });
    l.start();
    await until(() => passes === 5);
    expect(waits).toEqual([10, 20, 40, 40]);
  });

  it('stop() ends the sleep and waits for the running pass', async () => {
    let finished = false;
    let release!: () => void;
    const l = loop({
      pass: async () => {
        await new Promise<void>((r) => (release = r));
        finished = true;
        return null;
      },
    });
    l.start();
    await until(() => release !== undefined);
    const stopped = l.stop();
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(l.isRunning).toBe(false);
  });
});
