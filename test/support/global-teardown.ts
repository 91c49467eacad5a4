/** Jest globalTeardown of the integration project: stops what global-setup started, removes its temp dir. */
import { rmSync } from 'node:fs';

const INFRA_GLOBAL = '__ODIS_INFRA__';

interface GlobalInfra {
  infra: { stop(): Promise<void> };
  baseDir: string;
  removeHandlers: () => void;
}

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as Record<string, unknown>)[INFRA_GLOBAL] as GlobalInfra | undefined;
  if (!handle) return;
  delete (globalThis as Record<string, unknown>)[INFRA_GLOBAL];
  const t0 = Date.now();
  try {
    await handle.infra.stop();
  } finally {
    handle.removeHandlers();
  }
  if (process.env.ODIS_KEEP_INFRA_DIR) {
    process.stderr.write(`[infra] kept ${handle.baseDir} (ODIS_KEEP_INFRA_DIR)\n`);
  } else {
    rmSync(handle.baseDir, { recursive: true, force: true });
  }
  process.stderr.write(`[infra] stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
