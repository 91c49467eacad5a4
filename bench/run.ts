import 'reflect-metadata';
import { cpus, totalmem } from 'node:os';
import { apiBenchmark } from './api.bench.js';
import { dispatchBenchmark } from './dispatch.bench.js';
import { idleBenchmark } from './idle.bench.js';
import { ingestBenchmark } from './ingest.bench.js';
import { isolationBenchmark } from './isolation.bench.js';
import { recoveryBenchmark } from './recovery.bench.js';
import { replicasBenchmark } from './replicas.bench.js';
import { schedulerBenchmark } from './scheduler.bench.js';
import { BenchStack } from './stack.js';

/**
 * `npm run bench`: every benchmark on one local stack, in one run, figures printed as tables.
 * Select some with BENCH=idle,api,ingest,dispatch,scheduler,recovery (default: all, in that order;
 * recovery adds about 2.5 minutes); BENCH=isolation (endpoint isolation, ~2 min) and BENCH=replicas
 * (dispatcher replicas, ~3 min) run only when named.
 */
type Bench = { name: string; run: (stack: BenchStack) => Promise<unknown> };

// Idle first: on a fresh stack nothing is retained yet, so the apps (whose groups start at the
// beginning of the topics) have nothing to catch up on and are really at rest.
const benches: Bench[] = [
  { name: 'idle', run: (s) => idleBenchmark(s) },
  { name: 'api', run: (s) => apiBenchmark(s) },
  { name: 'ingest', run: (s) => ingestBenchmark(s) },
  { name: 'dispatch', run: (s) => dispatchBenchmark(s) },
  { name: 'scheduler', run: (s) => schedulerBenchmark(s) },
  { name: 'recovery', run: (s) => recoveryBenchmark(s) },
  { name: 'isolation', run: (s) => isolationBenchmark(s) },
  { name: 'replicas', run: (s) => replicasBenchmark(s) },
];
const onlyWhenNamed = new Set(['isolation', 'replicas']);

const selected = process.env.BENCH ? process.env.BENCH.split(',') : benches.map((b) => b.name).filter((n) => !onlyWhenNamed.has(n));
process.stdout.write(`# ODIS Webhooks benchmarks — ${new Date().toISOString()} — ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`);
const stack = await BenchStack.start();
let failed = false;
try {
  for (const bench of benches.filter((b) => selected.includes(b.name))) {
    const t0 = Date.now();
    try {
      await bench.run(stack);
      process.stdout.write(`(${bench.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch (err) {
      failed = true;
      process.stdout.write(`\n## ${bench.name}: FAILED — ${(err as Error).stack}\n`);
    }
  }
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
