import { describe, expect, it } from '@jest/globals';
import type { AttemptSummary } from '@odis/contracts';
import { DisabledWebhookEmail, disableReason, escapeHtml, recoverSince, type DisabledWebhookEmailInput } from './disabled-webhook-email.js';

const times = ['2024-01-15T10:30:00.000Z', '2024-01-15T10:31:00.200Z', '2024-01-15T10:36:00.400Z', '2024-01-15T11:06:00.600Z', '2024-01-15T13:06:00.800Z'];
const attempts: AttemptSummary[] = times.map((t, i) => ({
  attempt: i + 1,
  attempted_at: t,
  outcome: 'failed',
  status_code: i === 2 ? null : 500,
  error_class: i === 2 ? 'timeout' : 'http_status',
  error_message: i === 2 ? 'no response within 10000 ms' : null,
  duration_ms: 42,
}));

function input(overrides: Partial<DisabledWebhookEmailInput> = {}): DisabledWebhookEmailInput {
  return {
    account: { id: 'acct_1', name: 'Happy Paws Clinic' },
    webhook: { id: 'wh_abc123', url: 'https://clinic.example.com/webhooks/odis' },
    disabledAt: new Date('2024-01-15T13:06:01.000Z'),
    reason: disableReason(attempts),
    delivery: { id: 'dlv_1', eventId: 'evt_1', eventType: 'call.ended' },
    attempts,
    ...overrides,
  };
}

describe('disableReason', () => {
  it('names the number of failed attempts and the class of the last error', () => {
    expect(disableReason(attempts)).toBe('5 failed delivery attempts; last error: HTTP 500');
    expect(disableReason([{ ...attempts[2]!, attempt: 5 }])).toBe('1 failed delivery attempts; last error: timeout');
  });
});

describe('DisabledWebhookEmail', () => {
  const composer = new DisabledWebhookEmail({ apiBaseUrl: 'https://api.odis.ai/', dashboardUrl: 'https://app.odis.ai/settings/webhooks' });
  const email = composer.compose(input());

  it('names the webhook in the subject', () => {
    expect(email.subject).toBe('Your ODIS webhook was disabled: https://clinic.example.com/webhooks/odis');
  });

  it.each([
    ['text', email.text],
    ['html', email.html],
  ])('%s part: URL, id, when, why, the five attempts with times and results, and the re-enable call', (_part, body) => {
    expect(body).toContain('https://clinic.example.com/webhooks/odis');
    expect(body).toContain('wh_abc123');
    expect(body).toContain('2024-01-15T13:06:01.000Z');
    expect(body).toContain('5 failed delivery attempts; last error: HTTP 500');
    for (const t of times) expect(body).toContain(t);
    expect(body.match(/HTTP 500/g)!.length).toBeGreaterThanOrEqual(4);
    expect(body).toContain('timeout');
    expect(body).toContain('curl -X PATCH https://api.odis.ai/v1/webhooks/wh_abc123');
    expect(body).toContain('Authorization: Bearer YOUR_API_KEY');
    expect(body).toContain('Settings → Webhooks');
    expect(body).toContain('https://app.odis.ai/settings/webhooks');
  });

  it.each([
    ['text', email.text],
    ['html', email.html],
  ])('%s part: how to recover the missed events (a job without the ingest time: since the first failed attempt)', (_part, body) => {
    expect(body).toContain('curl -X POST https://api.odis.ai/v1/webhooks/wh_abc123/recover');
    expect(body).toContain(times[0]);
    expect(body).toContain('X-ODIS-Event-Id');
    expect(body).toContain('dry_run');
  });

  it('the recover call starts at the first failed attempt when the job does not carry the ingest time', () => {
    expect(email.text).toContain(`-d '{"since":"${times[0]}"}'`);
  });

  it('the recover call starts when the exhausted event was ingested (recovery selects by ingest time, which precedes attempt 1)', () => {
    const ingested = '2024-01-15T10:29:59.950Z';
    const withIngest = composer.compose(input({ delivery: { id: 'dlv_1', eventId: 'evt_1', eventType: 'call.ended', eventReceivedAt: ingested } }));
    expect(withIngest.text).toContain(`-d '{"since":"${ingested}"}'`);
    expect(withIngest.html).toContain(ingested);
  });

  it('never starts later than the first failed attempt, whatever the ingest time says', () => {
    expect(recoverSince('2024-01-15T10:45:00.000Z', attempts, 'x')).toBe(times[0]);
    expect(recoverSince(undefined, [], '2024-01-15T13:06:01.000Z')).toBe('2024-01-15T13:06:01.000Z');
  });

  it('text part carries the JSON body of the PATCH as is; HTML escapes it', () => {
    expect(email.text).toContain(`-d '{"status":"active"}'`);
    expect(email.html).toContain('-d &#39;{&quot;status&quot;:&quot;active&quot;}&#39;');
  });

  it('lists attempts in order', () => {
    const shuffled = composer.compose(input({ attempts: [...attempts].reverse() }));
    const positions = times.map((t) => shuffled.text.indexOf(t));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('HTML-escapes content from the customer and their endpoint', () => {
    const hostile = composer.compose(
      input({
        account: { id: 'acct_1', name: '<b>Evil</b> & Co' },
        webhook: { id: 'wh_x', url: 'https://x.example.com/?a=<script>alert(1)</script>&b="q"' },
        attempts: [{ ...attempts[0]!, status_code: null, error_class: 'network', error_message: '<img src=x onerror=alert(1)>' }],
      }),
    );
    expect(hostile.html).not.toContain('<script>');
    expect(hostile.html).not.toContain('<img');
    expect(hostile.html).not.toContain('<b>Evil');
    expect(hostile.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;b=&quot;q&quot;');
    expect(hostile.html).toContain('&lt;b&gt;Evil&lt;/b&gt; &amp; Co');
  });

  it('keeps a URL with line breaks on one line in the subject (no header injection)', () => {
    const e = composer.compose(input({ webhook: { id: 'wh_x', url: 'https://x.example.com/\r\nBcc: victim@example.com' } }));
    expect(e.subject).not.toMatch(/[\r\n]/);
  });

  it('defaults the API base and works without a dashboard link or account name', () => {
    const plain = new DisabledWebhookEmail().compose(input({ account: { id: 'acct_1', name: null } }));
    expect(plain.text.startsWith('Hello,\n')).toBe(true);
    expect(plain.text).toContain('curl -X PATCH https://api.odis.ai/v1/webhooks/wh_abc123');
    expect(plain.html).not.toContain('<a href');
  });

  it('escapes all five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
