/** KEY=VALUE env files (.local/stack.env): written atomically, readable by `set -a; . file` and dotenv. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]*$/;

/** Quote only what a shell would misread; single quotes, with ' escaped the POSIX way. */
export function formatEnvValue(value: string): string {
  if (value.includes('\n')) throw new Error('env values cannot contain newlines');
  return PLAIN.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function formatEnvFile(entries: Record<string, string | undefined>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (!KEY.test(key)) throw new Error(`invalid env name: ${key}`);
    if (value === undefined) continue;
    lines.push(`${key}=${formatEnvValue(value)}`);
  }
  return lines.join('\n') + '\n';
}

/** The inverse of formatEnvFile (plus comments and blank lines). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1);
    if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) value = value.slice(1, -1).replace(/'\\''/g, "'");
    else if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    out[key] = value;
  }
  return out;
}

export function writeEnvFile(file: string, entries: Record<string, string | undefined>): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, formatEnvFile(entries), { mode: 0o600 });
  renameSync(tmp, file);
}

export function readEnvFile(file: string): Record<string, string> {
  return parseEnvFile(readFileSync(file, 'utf8'));
}
