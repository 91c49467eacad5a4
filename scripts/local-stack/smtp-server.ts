/**
 * A real SMTP server as its own process: accepts any mail without auth and writes each message to
 * <dir>/<timestamp>-<seq>.eml (temp name first, then rename, so readers never see half a file).
 *   node dist/scripts/local-stack/smtp-server.js --port 2525 --dir .local/mail [--host 127.0.0.1]
 */
import { SMTPServer } from 'smtp-server';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface SmtpServerArgs {
  port: number;
  dir: string;
  host: string;
}

export function parseSmtpServerArgs(argv: readonly string[]): SmtpServerArgs {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = Number(get('--port'));
  const dir = get('--dir');
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('usage: smtp-server --port N --dir DIR [--host H] (bad --port)');
  if (!dir) throw new Error('usage: smtp-server --port N --dir DIR [--host H] (missing --dir)');
  return { port, dir: resolve(dir), host: get('--host') ?? '127.0.0.1' };
}

/** `<timestamp>-<seq>.eml`, zero-padded so that names sort in arrival order. */
export function mailFileName(timestampMs: number, seq: number): string {
  return `${String(timestampMs).padStart(13, '0')}-${String(seq).padStart(6, '0')}.eml`;
}

export function createMailCatcher(dir: string): SMTPServer {
  mkdirSync(dir, { recursive: true });
  let seq = readdirSync(dir).filter((f) => f.endsWith('.eml')).length;
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        try {
          const name = mailFileName(Date.now(), ++seq);
          const tmp = join(dir, `.${name}.tmp`);
          writeFileSync(tmp, Buffer.concat(chunks));
          renameSync(tmp, join(dir, name));
          callback();
        } catch (err) {
          callback(err as Error);
        }
      });
    },
  });
}

async function main(): Promise<void> {
  const args = parseSmtpServerArgs(process.argv.slice(2));
  const server = createMailCatcher(args.dir);
  server.on('error', (err) => console.error(`[smtp] ${err.message}`));
  await new Promise<void>((ok, fail) => {
    server.server.once('error', fail);
    server.listen(args.port, args.host, () => ok());
  });
  console.log(`[smtp] listening on ${args.host}:${args.port}, writing mail to ${args.dir}`);
  const shutdown = () => {
    // Open (pooled) client connections would hold close() up; do not wait for them long.
    setTimeout(() => process.exit(0), 1_000).unref();
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(`[smtp] ${(err as Error).message}`);
    process.exit(1);
  });
}
