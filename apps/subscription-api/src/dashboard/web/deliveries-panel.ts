import type { Api, Attempt, Delivery, DeliveryFilters } from './api.js';
import { formatTime, h, replace, uid } from './dom.js';
import type { Status } from './status.js';

const OUTCOMES = ['succeeded', 'failed', 'skipped'];

/** A scrolling block of text reachable with the keyboard (Tab, then arrow keys), named for screen readers. */
export function scrollable(name: string): Record<string, string | number> {
  return { tabindex: 0, role: 'region', 'aria-label': name };
}

/** `2024-01-15T10:30` (datetime-local, read as UTC) → ISO-8601, or undefined when empty. */
function isoFromInput(value: string): string | undefined {
  return value ? new Date(`${value}:00Z`).toISOString() : undefined;
}

function outcomeText(a: Attempt): string {
  if (a.status_code !== null) return `${a.outcome} (HTTP ${a.status_code})`;
  return a.error_class ? `${a.outcome} (${a.error_class})` : a.outcome;
}

/**
 * A webhook's delivery log: filters (outcome, event type, event id, since, until), attempts newest
 * first with "Load more", and one delivery's attempts (request headers, body, status, response
 * excerpt, duration) with Redeliver.
 */
export class DeliveriesPanel {
  readonly element: HTMLElement;
  private readonly rows = h('tbody');
  private readonly more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  private readonly detail = h('div', { class: 'delivery-detail' });
  private filters: DeliveryFilters = {};
  private cursor: string | null = null;
  /** Deliveries whose newest attempt is already in the list (newest first: the first row of a delivery is its latest attempt). */
  private readonly newestShown = new Set<string>();

  constructor(
    private readonly api: Api,
    private readonly status: Status,
    private readonly webhookId: string,
    eventTypes: readonly string[],
  ) {
    const ids = { outcome: uid('f-outcome'), type: uid('f-type'), event: uid('f-event'), since: uid('f-since'), until: uid('f-until') };
    const outcome = h('select', { id: ids.outcome, name: 'outcome' }, h('option', { value: '' }, 'Any'), OUTCOMES.map((o) => h('option', { value: o }, o)));
    const type = h('select', { id: ids.type, name: 'event_type' }, h('option', { value: '' }, 'Any'), eventTypes.map((t) => h('option', { value: t }, t)));
    const eventId = h('input', { id: ids.event, name: 'event_id', type: 'text', autocomplete: 'off', placeholder: 'evt_…' });
    const since = h('input', { id: ids.since, name: 'since', type: 'datetime-local' });
    const until = h('input', { id: ids.until, name: 'until', type: 'datetime-local' });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Delivery log filters' },
      h('div', {}, h('label', { for: ids.outcome }, 'Outcome'), outcome),
      h('div', {}, h('label', { for: ids.type }, 'Event type'), type),
      h('div', {}, h('label', { for: ids.event }, 'Event id'), eventId),
      h('div', {}, h('label', { for: ids.since }, 'Since (UTC)'), since),
      h('div', {}, h('label', { for: ids.until }, 'Until (UTC)'), until),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.filters = { outcome: outcome.value, event_type: type.value, event_id: eventId.value.trim(), since: isoFromInput(since.value), until: isoFromInput(until.value) };
      void this.status.guard(() => this.load());
    });
    this.more.addEventListener('click', () => void this.status.guard(() => this.load(true)));
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'deliveries-h' },
      h('h3', { id: 'deliveries-h' }, 'Delivery log'),
      form,
      h(
        'table',
        { class: 'deliveries' },
        h('caption', { class: 'visually-hidden' }, 'Delivery attempts, newest first'),
        h('thead', {}, h('tr', {}, ['Time', 'Event', 'Attempt', 'Outcome', 'Duration', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
        this.rows,
      ),
      this.more,
      this.detail,
    );
  }

  async load(append = false): Promise<void> {
    const page = await this.api.deliveries(this.webhookId, { ...this.filters, limit: 20, before: append ? (this.cursor ?? undefined) : undefined });
    if (!append) this.rows.replaceChildren();
    if (!append) this.newestShown.clear();
    if (!append && page.data.length === 0) this.rows.appendChild(h('tr', {}, h('td', { colspan: 6 }, 'No deliveries match.')));
    for (const a of page.data) {
      this.rows.appendChild(this.row(a, !this.newestShown.has(a.delivery_id)));
      this.newestShown.add(a.delivery_id);
    }
    this.cursor = page.next_cursor;
    this.more.hidden = !page.has_more;
  }

  /**
   * "next attempt at …" on the newest attempt of a delivery with a retry scheduled (the time includes
   * a receiver's Retry-After, decision 0013). When a filter may hide a later attempt (outcome, until),
   * only a time still to come is shown: no attempt can have been made before it.
   */
  private nextAttempt(a: Attempt, newest: boolean): string | null {
    if (!newest || !a.next_attempt_at || a.outcome !== 'failed') return null;
    const filtered = !!this.filters.outcome || !!this.filters.until;
    if (filtered && Date.parse(a.next_attempt_at) <= Date.now()) return null;
    return `next attempt at ${formatTime(a.next_attempt_at)}`;
  }

  private row(a: Attempt, newest: boolean): HTMLTableRowElement {
    const next = this.nextAttempt(a, newest);
    return h(
      'tr',
      { 'data-delivery-id': a.delivery_id, 'data-event-id': a.event_id },
      h('td', {}, formatTime(a.attempted_at)),
      h('td', {}, h('code', {}, a.event_type), h('br'), h('small', {}, a.event_id)),
      h('td', {}, a.manual ? `${a.attempt} (manual)` : a.attempt),
      h('td', {}, h('span', { class: `badge outcome-${a.outcome}` }, outcomeText(a)), next ? [h('br'), h('small', { 'data-field': 'next-attempt' }, next)] : null),
      h('td', {}, `${a.duration_ms} ms`),
      h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `View delivery ${a.delivery_id} (attempt ${a.attempt})`, onclick: () => void this.status.guard(() => this.show(a.delivery_id)) }, 'View')),
    );
  }

  /** One delivery with all its attempts, and Redeliver. */
  async show(deliveryId: string): Promise<void> {
    const d = await this.api.delivery(this.webhookId, deliveryId);
    const heading = h('h4', { tabindex: -1 }, `Delivery ${d.id}`);
    replace(
      this.detail,
      heading,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', { 'data-field': 'delivery-status' }, d.status, d.status === 'pending' && d.next_attempt_at ? ` — next attempt at ${formatTime(d.next_attempt_at)}` : ''),
        h('dt', {}, 'Event'),
        h('dd', {}, `${d.event_type} · ${d.event_id}`),
        h('dt', {}, 'URL'),
        h('dd', {}, d.url),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => void this.status.guard(() => this.redeliver(d)) }, 'Redeliver')),
      h('h5', {}, 'Body'),
      h('pre', { class: 'body', 'data-field': 'delivery-body', ...scrollable('Delivery body') }, d.body ?? '(not stored for deliveries logged before bodies were kept)'),
      h('h5', {}, `Attempts (${d.attempts.length})`),
      d.attempts.map((a, i) => this.attempt(a, d.status === 'pending' && i === d.attempts.length - 1)),
    );
    heading.focus();
  }

  /** One attempt; `last`: the latest of a pending delivery, which says when the next one is due. */
  private attempt(a: Attempt, last: boolean): HTMLElement {
    const headers = a.request_headers ? Object.entries(a.request_headers) : [];
    return h(
      'article',
      { class: 'attempt', 'data-attempt-id': a.id },
      h('h6', {}, `Attempt ${a.attempt}${a.manual ? ' (manual)' : ''} · ${formatTime(a.attempted_at)}`),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Outcome'),
        h('dd', {}, outcomeText(a)),
        h('dt', {}, 'Status code'),
        h('dd', {}, a.status_code ?? '—'),
        h('dt', {}, 'Duration'),
        h('dd', {}, `${a.duration_ms} ms`),
        a.error_message ? [h('dt', {}, 'Error'), h('dd', {}, a.error_message)] : null,
        last && a.next_attempt_at ? [h('dt', {}, 'Next attempt'), h('dd', { 'data-field': 'attempt-next' }, `next attempt at ${formatTime(a.next_attempt_at)}`)] : null,
      ),
      h('p', { class: 'label' }, 'Response excerpt'),
      h('pre', { class: 'excerpt', 'data-field': 'response-excerpt', ...scrollable(`Response excerpt of attempt ${a.attempt}`) }, a.response_excerpt ?? '(none)'),
      headers.length
        ? h(
            'table',
            { class: 'headers' },
            h('caption', {}, 'Request headers'),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Header'), h('th', { scope: 'col' }, 'Value'))),
            h('tbody', {}, headers.map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, value)))),
          )
        : h('p', { class: 'hint' }, 'No request headers (skipped, or logged before they were kept).'),
    );
  }

  private async redeliver(d: Delivery): Promise<void> {
    const queued = await this.api.redeliver(this.webhookId, d.id);
    this.status.ok(`Redelivery queued: ${queued.id} (event ${queued.event_id}).`);
    await this.load();
  }
}
