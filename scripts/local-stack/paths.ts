import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest ancestor of this file (source or dist) holding the project's package.json. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'odis-webhooks') return dir;
      } catch {
        /* keep looking */
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** The last `maxLines` lines of a (log) file, or a note when it does not exist. */
export function tailFile(file: string, maxLines = 40, maxBytes = 64 * 1024): string {
  if (!existsSync(file)) return `(no ${file})`;
  const size = statSync(file).size;
  const start = Math.max(0, size - maxBytes);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8').split('\n').slice(-maxLines).join('\n');
}

export type Log = (message: string) => void;
export const defaultLog: Log = (m) => console.log(m);

/** Where `npm start` / `npm run infra` keep their state: LOCAL_STACK_DIR, default <repo>/.local. */
export function localDir(env: NodeJS.ProcessEnv = process.env, root: string = repoRoot()): string {
  return env.LOCAL_STACK_DIR ? resolve(env.LOCAL_STACK_DIR) : join(root, '.local');
}
