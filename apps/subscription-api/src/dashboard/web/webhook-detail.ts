import type { Api, Webhook } from './api.js';
import { statsChart } from './chart.js';
import { DeliveriesPanel } from './deliveries-panel.js';
import { byId, formatTime, h, replace } from './dom.js';
import { historyPanel } from './history-panel.js';
import { recoverSinceDisable } from './recover-dialog.js';
import { SettingsPanel } from './settings-panel.js';
import type { Status } from './status.js';
import { testEventPanel } from './test-event-panel.js';

/**
 * One webhook: its facts, its delivery settings (custom headers, rate limit, "Edit delivery settings"), the last 24 h chart, Send test event, "Re-enable and recover since the
 * disable" (when disabled), the delivery log and the change history.
 */
export class WebhookDetail {
  private readonly section = byId('detail-section');
  private current: Webhook | null = null;
  /** Where the focus goes on the next render (after "Edit delivery settings" saved: back to its button). */
  private focusNext: 'settings' | null = null;

  constructor(
    private readonly api: Api,
    private readonly status: Status,
    private readonly eventTypes: () => readonly string[],
    private readonly onChanged: (w: Webhook) => void,
  ) {}

  get webhookId(): string | null {
    return this.current?.id ?? null;
  }

  hide(): void {
    this.current = null;
    this.section.hidden = true;
    this.section.replaceChildren();
  }

  /** Renders `webhook` (read again); `focus`: its heading, or `'edit'`: with "Edit delivery settings" open. */
  async show(webhook: Webhook, focus: boolean | 'edit' = true): Promise<void> {
    const w = await this.api.getWebhook(webhook.id);
    this.current = w;
    const [stats, history] = await Promise.all([this.api.stats(w.id), this.api.history(w.id)]);
    const deliveries = new DeliveriesPanel(this.api, this.status, w.id, this.eventTypes());
    const chartBox = h('div', {}, statsChart(stats));
    const refreshActivity = () => {
      void this.status.guard(async () => {
        await deliveries.load();
        replace(chartBox, statsChart(await this.api.stats(w.id)));
      });
    };
    const settings = new SettingsPanel(this.api, this.status, w, this.eventTypes(), (updated) => {
      this.focusNext = 'settings';
      this.onChanged(updated);
    });
    const heading = h('h2', { id: 'detail-h', tabindex: -1 }, 'Webhook ', h('span', { class: 'url' }, w.url));
    replace(
      this.section,
      heading,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Id'),
        h('dd', {}, w.id),
        h('dt', {}, 'Status'),
        h('dd', { 'data-field': 'webhook-status' }, h('span', { class: `badge status-${w.status}` }, w.status)),
        w.disabled_at ? [h('dt', {}, 'Disabled at'), h('dd', {}, formatTime(w.disabled_at))] : null,
        w.disabled_reason ? [h('dt', {}, 'Reason'), h('dd', {}, w.disabled_reason)] : null,
        h('dt', {}, 'Events'),
        h('dd', {}, w.events.join(', ')),
        w.description ? [h('dt', {}, 'Description'), h('dd', {}, w.description)] : null,
        h('dt', {}, 'Secret'),
        h('dd', {}, `…${w.secret_hint}`, w.previous_secret_expires_at ? ` (the previous secret signs until ${formatTime(w.previous_secret_expires_at)})` : ''),
      ),
      w.status === 'disabled'
        ? h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', onclick: () => void this.status.guard(() => recoverSinceDisable(this.api, this.status, w, (updated) => this.onChanged(updated))) }, 'Re-enable and recover since the disable'),
          )
        : null,
      settings.element,
      h('section', { class: 'panel', 'aria-labelledby': 'chart-h' }, h('h3', { id: 'chart-h' }, 'Last 24 hours'), chartBox),
      testEventPanel(this.api, this.status, w.id, this.eventTypes(), refreshActivity),
      deliveries.element,
      historyPanel(history.data),
    );
    this.section.hidden = false;
    await deliveries.load();
    if (focus === 'edit') settings.edit();
    else if (this.focusNext === 'settings') settings.editButton.focus();
    else if (focus) heading.focus();
    this.focusNext = null;
  }
}
