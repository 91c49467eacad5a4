import type { Api, Webhook } from './api.js';
import { Dialog } from './dialog.js';
import { formatTime, h, replace } from './dom.js';
import { lastAutomaticSuccess, recoverSince } from './recover-since.js';
import type { Status } from './status.js';

const SUCCESS_PAGES = 5;

/** The last automatic success before `until` (a few pages of the delivery log at most), or null. */
async function lastSuccessBefore(api: Api, webhookId: string, until: string): Promise<string | null> {
  let before: string | undefined;
  for (let page = 0; page < SUCCESS_PAGES; page++) {
    const res = await api.deliveries(webhookId, { outcome: 'succeeded', until, limit: 100, before });
    const found = lastAutomaticSuccess(res.data);
    if (found || !res.has_more || !res.next_cursor) return found;
    before = res.next_cursor;
  }
  return null;
}

/**
 * "Re-enable and recover since the disable", in a dialog, step by step:
 * 1. says from when (the last successful delivery before the disable, recover-since.ts) and asks;
 * 2. re-enables the webhook (a recovery needs an active webhook) and counts with a dry run;
 * 3. shows that count and asks again; recovers exactly that window ([since, the dry run's until));
 * 4. follows the recovery's progress until it is done.
 */
export async function recoverSinceDisable(api: Api, status: Status, webhook: Webhook, onChanged: (w: Webhook) => void): Promise<void> {
  const disabledAt = webhook.disabled_at ?? new Date().toISOString();
  const since = recoverSince(webhook, await lastSuccessBefore(api, webhook.id, disabledAt));
  const dialog = new Dialog('Re-enable and recover since the disable');
  const text = h('div', { 'aria-live': 'polite', 'data-field': 'recover-text' });
  dialog.body.appendChild(text);
  replace(
    text,
    h('p', {}, `The webhook was disabled at ${formatTime(disabledAt)}.`),
    h('p', {}, `It will be re-enabled, then the events since ${formatTime(since)} (its last successful delivery) are counted before anything is sent. They are delivered again with their original event ids.`),
  );
  const cancel = dialog.button('Cancel', () => dialog.close(), 'secondary');
  const start = dialog.button('Re-enable and count missed events', () => {
    start.disabled = true;
    void status
      .guard(async () => {
        const enabled = webhook.status === 'active' ? webhook : await api.setStatus(webhook, 'active');
        onChanged(enabled);
        const dry = await api.recover(webhook.id, { since, dry_run: true });
        const view = await api.recovery(webhook.id, dry.id);
        const until = view.until ?? new Date().toISOString();
        start.remove();
        cancel.textContent = 'Close without recovering';
        replace(
          text,
          h('p', {}, 'The webhook is active again.'),
          h('p', { 'data-field': 'dry-run-count', 'data-count': dry.events }, `${dry.events} missed ${dry.events === 1 ? 'event' : 'events'} between ${formatTime(since)} and ${formatTime(until)}.`),
        );
        status.ok(`Re-enabled ${enabled.url}; ${dry.events} missed events to recover.`);
        const run = dialog.button(`Recover ${dry.events} ${dry.events === 1 ? 'event' : 'events'}`, () => {
          run.disabled = true;
          void status.guard(async () => {
            const rec = await api.recover(webhook.id, { since, until });
            run.remove();
            cancel.textContent = 'Close';
            const progress = h('p', { 'data-field': 'recovery-progress' }, `Recovery ${rec.id} queued: ${rec.events} events.`);
            text.appendChild(progress);
            status.ok(`Recovery ${rec.id} queued: ${rec.events} events.`);
            await follow(api, webhook.id, rec.id, progress, status, () => dialog.element.open);
          });
        });
        run.focus();
      })
      .then(() => {
        start.disabled = false;
      });
  });
  dialog.open();
  start.focus();
}

async function follow(api: Api, webhookId: string, recoveryId: string, progress: HTMLElement, status: Status, watching: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && watching(); i++) {
    const r = await api.recovery(webhookId, recoveryId);
    const line = `Recovery ${r.id}: ${r.status}, ${r.delivered ?? 0} of ${r.events} delivered, ${r.failed ?? 0} failed.`;
    progress.textContent = line;
    if (r.status === 'done') {
      status.ok(line);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
