/**
 * `npm run chaos`: the local stack with a retry schedule in seconds, steady traffic, every fault one
 * after the other, a table with one row per fault and one summary line; exits non-zero unless nothing
 * was lost, every delivery is in the delivery log and every disable email arrived exactly once.
 *   node dist/scripts/chaos/run.js [--faults kill-dispatcher,smtp-down] [--short] [--rate 15] [--budget 14 (minutes)] [--keep]
 */
import { installShutdownHandlers } from '../local-stack/processes.js';
import { ChaosRun } from './chaos.js';
import { FAULTS, SHORT_FAULTS } from './faults.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(`faults: ${FAULTS.map((f) => f.id).join(', ')}`);
    return 0;
  }
  const faults = process.argv.includes('--short') ? SHORT_FAULTS : arg('faults')?.split(',');
  const started = Date.now();
  const result = await new ChaosRun({ faults, rate: arg('rate') ? Number(arg('rate')) : undefined, keepDir: process.argv.includes('--keep'), budgetMs: arg('budget') ? Number(arg('budget')) * 60_000 : undefined }).run();
  console.log(`\n${result.table}\n`);
  console.log(`(${((Date.now() - started) / 60_000).toFixed(1)} min${result.skipped.length ? `; not run, the time budget was spent: ${result.skipped.join(', ')}` : ''})`);
  console.log(result.summary);
  return result.exitCode;
}

const handlers = installShutdownHandlers({ handleErrors: true });
main().then(
  (code) => {
    handlers.remove();
    process.exit(code);
  },
  (err) => {
    console.error(`[chaos] failed: ${(err as Error).stack ?? err}`);
    handlers.shutdown(1);
  },
);
