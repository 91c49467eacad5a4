import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { requireEnv, waitFor } from '../support/infra.js';
import { startSmtp, type SmtpHandle } from '../../scripts/local-stack/smtp.js';

const emlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();

async function send(url: string, subject: string, to: string): Promise<void> {
  const transport = nodemailer.createTransport({ url, ignoreTLS: true } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    await transport.sendMail({ from: 'ODIS Webhooks <noreply@odis.example>', to, subject, text: `body of ${subject}` });
  } finally {
    transport.close();
  }
}

async function parseNewest(dir: string, subject: string) {
  const name = await waitFor(
    async () => {
      for (const f of emlFiles(dir)) {
        const parsed = await simpleParser(readFileSync(join(dir, f)));
        if (parsed.subject === subject) return f;
      }
      return undefined;
    },
    { timeoutMs: 10_000, message: `mail "${subject}" in ${dir}` },
  );
  expect(name).toMatch(/^\d{13}-\d{6}\.eml$/);
  return simpleParser(readFileSync(join(dir, name)));
}

describe('local SMTP catcher', () => {
  it('writes a mail sent with nodemailer to SMTP_URL as an .eml file in MAIL_DIR', async () => {
    const subject = `Webhook disabled ${Date.now()}`;
    await send(requireEnv('SMTP_URL'), subject, 'owner@clinic.example');
    const mail = await parseNewest(requireEnv('MAIL_DIR'), subject);
    expect(mail.subject).toBe(subject);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : []).toEqual(['owner@clinic.example']);
    expect(mail.text?.trim()).toBe(`body of ${subject}`);
    // no half-written temp files left behind
    expect(readdirSync(requireEnv('MAIL_DIR')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  describe('stop and restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'odis-smtp-restart-'));
    let smtp: SmtpHandle | undefined;
    afterAll(async () => {
      await smtp?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses mail while stopped and accepts it again on the same port after restart()', async () => {
      smtp = await startSmtp({ mailDir: join(dir, 'mail'), logFile: join(dir, 'smtp.log') });
      const { url, port } = smtp;
      await send(url, 'before', 'a@clinic.example');
      await parseNewest(smtp.mailDir, 'before');

      await smtp.stop();
      expect(smtp.running).toBe(false);
      await expect(send(url, 'while down', 'a@clinic.example')).rejects.toThrow(/ECONNREFUSED/);

      await smtp.restart();
      expect(smtp.running).toBe(true);
      expect(smtp.port).toBe(port);
      expect(smtp.url).toBe(url);
      await send(url, 'after', 'b@clinic.example');
      const mail = await parseNewest(smtp.mailDir, 'after');
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('b@clinic.example');
      expect(emlFiles(smtp.mailDir)).toHaveLength(2);
    });
  });
});
