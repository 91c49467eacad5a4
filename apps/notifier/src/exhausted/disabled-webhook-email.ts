import type { AttemptSummary } from '@odis/contracts';

export interface DisabledWebhookEmailInput {
  account: { id: string; name: string | null };
  webhook: { id: string; url: string };
  /** When the webhook was disabled. */
  disabledAt: Date;
  /** The reason recorded on the webhook ("5 failed delivery attempts; last error: HTTP 500"). */
  reason: string;
  /** The delivery whose attempts were exhausted. */
  delivery: { id: string; eventId: string; eventType: string; eventReceivedAt?: string };
  attempts: readonly AttemptSummary[];
}

export interface ComposedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface DisabledWebhookEmailOptions {
  /** Public API base for the re-enable call. Default https://api.odis.ai */
  apiBaseUrl?: string;
  /** Optional direct link to the dashboard's webhook settings. */
  dashboardUrl?: string | null;
}

/** `HTTP 500`, `timeout (connect ETIMEDOUT …)`, … for one attempt. */
export function describeAttemptResult(a: AttemptSummary): string {
  if (a.outcome === 'succeeded') return a.status_code != null ? `HTTP ${a.status_code} (succeeded)` : 'succeeded';
  if (a.outcome === 'skipped') return 'skipped';
  const parts: string[] = [];
  if (a.status_code != null) parts.push(`HTTP ${a.status_code}`);
  else if (a.error_class) parts.push(a.error_class.replace(/_/g, ' '));
  else parts.push('failed');
  if (a.error_message && a.status_code == null) parts.push(`(${truncate(oneLine(a.error_message), 200)})`);
  return parts.join(' ');
}

/**
 * Where the email's recover call starts: when the exhausted delivery's event was ingested (recovery
 * selects events by ingest time, and that event is the first the endpoint missed), or, for a job that
 * does not carry it, the first failed attempt; whichever is earlier.
 */
export function recoverSince(eventReceivedAt: string | undefined, attempts: readonly AttemptSummary[], fallback: string): string {
  const firstFailed = attempts.find((a) => a.outcome === 'failed')?.attempted_at ?? fallback;
  if (!eventReceivedAt) return firstFailed;
  return Date.parse(eventReceivedAt) < Date.parse(firstFailed) ? eventReceivedAt : firstFailed;
}

/** The class of the last failure, for the disable reason: `HTTP 500`, `timeout`, `connection_refused`. */
export function lastErrorLabel(attempts: readonly AttemptSummary[]): string {
  const last = attempts[attempts.length - 1];
  if (!last) return 'unknown';
  if (last.status_code != null) return `HTTP ${last.status_code}`;
  return last.error_class ?? 'unknown';
}

/** `5 failed delivery attempts; last error: HTTP 500`. */
export function disableReason(attempts: readonly AttemptSummary[]): string {
  return `${failedAttempts(attempts)} failed delivery attempts; last error: ${lastErrorLabel(attempts)}`;
}

/** The failed attempts among `attempts` (all of them when none is marked failed). */
export function failedAttempts(attempts: readonly AttemptSummary[]): number {
  return attempts.filter((a) => a.outcome === 'failed').length || attempts.length;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function oneLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ').trim();
}

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/**
 * The email an account gets when one of its webhooks was disabled after its last failed attempt:
 * which webhook (URL and id), when and why (every attempt with its time and result), how to
 * turn it back on (the API call and the dashboard page) and how to get back the events it missed
 * (the recover call, since the first event it missed). Plain text and HTML; everything that came
 * from the customer or from their endpoint is escaped in the HTML and kept on one line in headers.
 */
export class DisabledWebhookEmail {
  private readonly apiBaseUrl: string;
  private readonly dashboardUrl: string | null;

  constructor(options: DisabledWebhookEmailOptions = {}) {
    this.apiBaseUrl = (options.apiBaseUrl ?? 'https://api.odis.ai').replace(/\/+$/, '');
    this.dashboardUrl = options.dashboardUrl ?? null;
  }

  /** The exact re-enable call, as it appears in both parts. */
  reenableCommand(webhookId: string): string {
    return [
      `curl -X PATCH ${this.apiBaseUrl}/v1/webhooks/${webhookId} \\`,
      `  -H "Authorization: Bearer YOUR_API_KEY" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d '{"status":"active"}'`,
    ].join('\n');
  }

  /**
   * The exact recover call: every event since `since` (the first event the endpoint missed), delivered
   * again with its original event id (receivers de-duplicate on it), once the webhook is active again.
   */
  recoverCommand(webhookId: string, since: string): string {
    return [
      `curl -X POST ${this.apiBaseUrl}/v1/webhooks/${webhookId}/recover \\`,
      `  -H "Authorization: Bearer YOUR_API_KEY" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d '{"since":"${since}"}'`,
    ].join('\n');
  }

  compose(input: DisabledWebhookEmailInput): ComposedEmail {
    const url = truncate(oneLine(input.webhook.url), 500);
    const id = oneLine(input.webhook.id);
    const when = input.disabledAt.toISOString();
    const attempts = [...input.attempts].sort((a, b) => a.attempt - b.attempt);
    const subject = truncate(`Your ODIS webhook was disabled: ${url}`, 250);
    const greeting = input.account.name ? `Hello ${oneLine(input.account.name)},` : 'Hello,';
    const command = this.reenableCommand(id);
    const since = recoverSince(input.delivery.eventReceivedAt, attempts, when);
    const recover = this.recoverCommand(id, since);
    const dashboard = this.dashboardUrl ? `${this.dashboardUrl}` : null;

    const attemptLines = attempts.map(
      (a) => `  ${a.attempt}. ${a.attempted_at}  ${describeAttemptResult(a)}${a.duration_ms ? `  (${Math.round(a.duration_ms)} ms)` : ''}`,
    );
    const text = [
      greeting,
      '',
      `We disabled your webhook after ${attempts.length} failed delivery attempts in a row.`,
      '',
      `  Webhook:     ${url}`,
      `  Webhook ID:  ${id}`,
      `  Disabled at: ${when}`,
      `  Reason:      ${oneLine(input.reason)}`,
      `  Event:       ${input.delivery.eventType} (${input.delivery.eventId})`,
      `  Delivery ID: ${input.delivery.id}`,
      '',
      'Attempts:',
      ...attemptLines,
      '',
      'While the webhook is disabled, no events are delivered to it.',
      '',
      'To re-enable it once your endpoint answers with a 2xx status again:',
      '',
      '- with the API:',
      '',
      command
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n'),
      '',
      `- or in the dashboard: Settings → Webhooks, open the webhook and set its status to Active${dashboard ? ` (${dashboard})` : ''}.`,
      '',
      `Then get back the events it missed: every event since the first one it missed (ingested ${since}) is delivered`,
      'again with its original event id (X-ODIS-Event-Id), so your endpoint can skip any it already has:',
      '',
      recover
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n'),
      '',
      'Add "dry_run": true to count them first. The event log keeps events for 30 days by default.',
      '',
      '— ODIS Webhooks',
      '',
    ].join('\n');

    const e = escapeHtml;
    const rows = attempts
      .map(
        (a) =>
          `<tr><td style="padding:4px 8px">${a.attempt}</td><td style="padding:4px 8px">${e(a.attempted_at)}</td>` +
          `<td style="padding:4px 8px">${e(describeAttemptResult(a))}</td></tr>`,
      )
      .join('\n');
    const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${e(subject)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">
<p>${e(greeting)}</p>
<p>We disabled your webhook after ${attempts.length} failed delivery attempts in a row.</p>
<table style="border-collapse:collapse">
<tr><th align="left" style="padding:2px 8px">Webhook</th><td style="padding:2px 8px"><code>${e(url)}</code></td></tr>
<tr><th align="left" style="padding:2px 8px">Webhook ID</th><td style="padding:2px 8px"><code>${e(id)}</code></td></tr>
<tr><th align="left" style="padding:2px 8px">Disabled at</th><td style="padding:2px 8px">${e(when)}</td></tr>
<tr><th align="left" style="padding:2px 8px">Reason</th><td style="padding:2px 8px">${e(oneLine(input.reason))}</td></tr>
<tr><th align="left" style="padding:2px 8px">Event</th><td style="padding:2px 8px">${e(input.delivery.eventType)} (<code>${e(input.delivery.eventId)}</code>)</td></tr>
<tr><th align="left" style="padding:2px 8px">Delivery ID</th><td style="padding:2px 8px"><code>${e(input.delivery.id)}</code></td></tr>
</table>
<h3>Attempts</h3>
<table style="border-collapse:collapse" border="1">
<tr><th style="padding:4px 8px">#</th><th style="padding:4px 8px">Time (UTC)</th><th style="padding:4px 8px">Result</th></tr>
${rows}
</table>
<p>While the webhook is disabled, no events are delivered to it.</p>
<h3>Re-enable it</h3>
<p>Once your endpoint answers with a 2xx status again, re-enable the webhook with the API:</p>
<pre style="background:#f4f4f4;padding:8px">${e(command)}</pre>
<p>or in the dashboard: <strong>Settings → Webhooks</strong>, open the webhook and set its status to <strong>Active</strong>${
      dashboard ? ` (<a href="${e(dashboard)}">${e(dashboard)}</a>)` : ''
    }.</p>
<h3>Recover the missed events</h3>
<p>Then get back the events it missed: every event since the first one it missed (ingested ${e(since)}) is delivered again with its original event id (<code>X-ODIS-Event-Id</code>), so your endpoint can skip any it already has:</p>
<pre style="background:#f4f4f4;padding:8px">${e(recover)}</pre>
<p>Add <code>"dry_run": true</code> to count them first. The event log keeps events for 30 days by default.</p>
<p>— ODIS Webhooks</p>
</body></html>
`;
    return { subject, text, html };
  }
}
