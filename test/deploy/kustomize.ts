/**
 * Renders a kustomization offline with whichever renderer the machine has: `kustomize` on PATH, the
 * one `go install` put in $GOBIN / $(go env GOPATH)/bin (what .ci/run installs when nothing else is
 * there), then `kubectl kustomize`. A render check that silently skips in CI is a defect: under
 * CI=true a missing renderer fails the test; elsewhere it skips with a warning.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface Renderer {
  command: string;
  args: string[];
  version: string;
}

function works(command: string, args: string[]): string | null {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  return out.status === 0 ? (out.stdout || out.stderr).trim().split('\n')[0] : null;
}

function goBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.GOBIN) dirs.push(process.env.GOBIN);
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' });
  if (gopath.status === 0 && gopath.stdout.trim()) dirs.push(join(gopath.stdout.trim().split(':')[0], 'bin'));
  dirs.push(join(homedir(), 'go', 'bin'));
  return dirs;
}

export function findRenderer(): Renderer | null {
  for (const command of ['kustomize', ...goBinDirs().map((d) => join(d, 'kustomize')).filter((f) => existsSync(f))]) {
    const version = works(command, ['version']);
    if (version) return { command, args: ['build'], version };
  }
  const kubectl = works('kubectl', ['version', '--client']);
  if (kubectl) return { command: 'kubectl', args: ['kustomize'], version: kubectl };
  return null;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function render(renderer: Renderer, dir: string): Obj[] {
  const out = spawnSync(renderer.command, [...renderer.args, dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${renderer.command} ${renderer.args.join(' ')} ${dir} failed: ${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}
