import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createMailCatcher, mailFileName, parseSmtpServerArgs } from './smtp-server.js';

describe('SMTP catcher', () => {
  it('parses its arguments', () => {
    expect(parseSmtpServerArgs(['--port', '2525', '--dir', '/tmp/mail'])).toEqual({ port: 2525, dir: '/tmp/mail', host: '127.0.0.1' });
    expect(() => parseSmtpServerArgs(['--dir', '/x'])).toThrow(/bad --port/);
    expect(() => parseSmtpServerArgs(['--port', '1'])).toThrow(/missing --dir/);
  });

  it('names files <timestamp>-<seq>.eml so that they sort by arrival', () => {
    expect(mailFileName(1_700_000_000_000, 7)).toBe('1700000000000-000007.eml');
    expect([mailFileName(2, 10), mailFileName(2, 9), mailFileName(1, 11)].sort()).toEqual([mailFileName(1, 11), mailFileName(2, 9), mailFileName(2, 10)]);
  });

  it('accepts any mail without auth and writes it whole to the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-spec-'));
    const server = createMailCatcher(dir);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as { port: number }).port;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ from: 'a@x.example', to: 'b@y.example', subject: 'one', text: 'x'.repeat(100_000) });
      await transport.sendMail({ from: 'a@x.example', to: 'c@y.example', subject: 'two', text: 'hi' });
    } finally {
      transport.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    expect(files.every((f) => /^\d{13}-\d{6}\.eml$/.test(f))).toBe(true);
    const [first, second] = files.sort().map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(first).toMatch(/^Subject: one$/m);
    expect(first!.length).toBeGreaterThan(100_000);
    expect(second).toMatch(/^To: c@y\.example$/m);
  });
});
