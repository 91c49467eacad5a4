import { describe, it, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSmapsRollup, treeMemory, treePids } from './sampling.js';

const ROLLUP = `55d0c0a3a000-7ffd2e1f3000 ---p 00000000 00:00 0                          [rollup]
Rss:              104448 kB
Pss:               58123 kB
Pss_Anon:          40960 kB
Anonymous:         40960 kB
`;

describe('memory sampling', () => {
  it('reads Rss and Pss (not Pss_Anon) from smaps_rollup, in bytes', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ rss: 104448 * 1024, pss: 58123 * 1024 });
    expect(parseSmapsRollup('nothing here').rss).toBeNaN();
  });

  it('sums a process tree: a parent with a child counts both', async () => {
    const parent = spawn(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'inherit' }); setTimeout(() => {}, 30000)"], { stdio: 'ignore' });
    let pids: number[] = [];
    try {
      const deadline = Date.now() + 10_000;
      while ((pids = treePids(parent.pid)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const own = parseSmapsRollup(readFileSync(`/proc/${parent.pid}/smaps_rollup`, 'utf8'));
      const tree = treeMemory(parent.pid);
      expect(tree.processes).toBe(2);
      expect(tree.rss).toBeGreaterThan(own.rss);
      expect(tree.pss).toBeGreaterThan(0);
    } finally {
      for (const pid of pids.filter((p) => p !== parent.pid)) process.kill(pid, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });

  it('gives NaN for a process that does not exist', () => {
    expect(treeMemory(2 ** 22 + 7).rss).toBeNaN();
    expect(treePids(undefined)).toEqual([]);
  });
});
