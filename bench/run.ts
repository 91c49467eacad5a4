import 'reflect-metadata';
import { cpus, totalmem } from 'node:os';
import { apiBenchmark } from './api.bench.js';
import { BenchStack } from './stack.js';

/**
 * `npm run bench`: every benchmark on one local stack, in one run, figures printed as tables.
 * Select some with BENCH=api,dispatch,scheduler (default: all that exist).
 */
type Bench = { name: string; run: (stack: BenchStack) => Promise<unknown> };

const benches: Bench[] = [{ name: 'api', run: (s) => apiBenchmark(s) }];
for (const [name, file, fn] of [
  ['dispatch', './dispatch.bench.js', 'dispatchBenchmark'],
  ['scheduler', './scheduler.bench.js', 'schedulerBenchmark'],
  ['idle', './idle.bench.js', 'idleBenchmark'],
  ['ingest', './ingest.bench.js', 'ingestBenchmark'],
] as const) {
  try {
    const mod = (await import(file)) as Record<string, (s: BenchStack) => Promise<unknown>>;
    if (typeof mod[fn] === 'function') benches.push({ name, run: (s) => mod[fn](s) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
}

const selected = process.env.BENCH ? process.env.BENCH.split(',') : benches.map((b) => b.name);
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
