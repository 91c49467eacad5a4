import { ApiError, type Api, type EventType, type Webhook } from './api.js';
import { fieldTarget, ORDERING_LABELS, rateLimitFromInput } from './delivery-settings.js';
import { confirmDialog, Dialog } from './dialog.js';
import { byId, h, replace, uid } from './dom.js';
import { FieldError, HeadersEditor } from './headers-editor.js';
import { orderingInput, rateLimitInput, rateLimitText } from './settings-panel.js';
import type { Status } from './status.js';

const FALLBACK_TYPES = ['call.started', 'call.ended', 'appointment.created'];

/**
 * "Add Webhook" (URL, events, optional secret, description, custom headers, rate limit and ordering, Save) and
 * "Your webhooks" (the list with its actions, 100 at a time with "Load more webhooks").
 */
export class WebhooksPanel {
  private readonly addSection = byId('add-section');
  private readonly listSection = byId('list-section');
  private readonly list = h('div', { class: 'list' });
  private readonly more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more webhooks');
  private cursor: string | null = null;
  private eventTypes: EventType[] = FALLBACK_TYPES.map((type) => ({ type, description: '' }));
  webhooks: Webhook[] = [];

  constructor(
    private readonly api: Api,
    private readonly status: Status,
    private readonly onOpen: (webhook: Webhook, mode?: 'edit') => void,
    private readonly onChanged: (webhook: Webhook | null, removedId?: string) => void,
  ) {
    this.listSection.append(this.list, this.more);
    this.more.addEventListener('click', () => void this.status.guard(() => this.loadMore()));
    this.renderForm();
    replace(this.list, h('p', { class: 'hint' }, 'Enter your API key to load your webhooks.'));
  }

  async load(): Promise<void> {
    const [types, hooks] = await Promise.all([this.api.eventTypes().catch(() => null), this.api.listWebhooks()]);
    if (types?.data.length) {
      this.eventTypes = types.data;
      this.renderForm();
    }
    // After a change, as many pages as were shown are read again (the list keeps its length).
    const shown = this.webhooks.length;
    const webhooks = hooks.data;
    let page = hooks;
    while (page.has_more && webhooks.length < shown) {
      page = await this.api.listWebhooks(page.next_cursor);
      webhooks.push(...page.data);
    }
    this.webhooks = webhooks;
    this.cursor = page.has_more ? page.next_cursor : null;
    this.renderList();
  }

  /** "Load more webhooks": the next page (the API's cursor, `starting_after`). */
  private async loadMore(): Promise<void> {
    if (!this.cursor) return;
    const page = await this.api.listWebhooks(this.cursor);
    this.webhooks = [...this.webhooks, ...page.data];
    this.cursor = page.has_more ? page.next_cursor : null;
    this.renderList();
    this.status.ok(`Loaded ${this.webhooks.length} webhooks${this.cursor ? ' (more to load)' : ''}.`);
    // The focus goes to the first row just loaded.
    this.list.querySelector<HTMLButtonElement>(`tr[data-webhook-id="${page.data[0]?.id ?? ''}"] button`)?.focus();
  }

  /** True when the API has more webhooks than are shown. */
  get hasMore(): boolean {
    return this.cursor !== null;
  }

  private renderForm(): void {
    const urlId = uid('url');
    const secretId = uid('secret');
    const descId = uid('desc');
    const url = h('input', { id: urlId, name: 'url', type: 'url', required: true, placeholder: 'https://your-server.com/webhooks/odis', autocomplete: 'off' });
    const secret = h('input', { id: secretId, name: 'secret', type: 'text', minlength: 16, autocomplete: 'off', 'aria-describedby': `${secretId}-hint` });
    const description = h('input', { id: descId, name: 'description', type: 'text', maxlength: 500, autocomplete: 'off' });
    const boxes = this.eventTypes.map((t) => h('input', { type: 'checkbox', name: 'events', value: t.type, checked: true }));
    const urlError = new FieldError([url]);
    const eventsError = new FieldError(boxes);
    const secretError = new FieldError([secret]);
    const descError = new FieldError([description]);
    const headers = new HeadersEditor();
    const rate = rateLimitInput(null);
    const ordering = orderingInput('none');
    const form = h(
      'form',
      { class: 'add-form', 'aria-labelledby': 'add-h' },
      h('label', { for: urlId }, 'Endpoint URL'),
      url,
      urlError.element,
      h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((box, i) => h('label', { class: 'check' }, box, ' ', h('code', {}, this.eventTypes[i]!.type), this.eventTypes[i]!.description ? h('span', { class: 'hint' }, ` — ${this.eventTypes[i]!.description}`) : null)), eventsError.element),
      h('label', { for: secretId }, 'Signing secret (optional)'),
      secret,
      h('p', { id: `${secretId}-hint`, class: 'hint' }, 'At least 16 characters; leave empty to have one generated (shown once).'),
      secretError.element,
      h('label', { for: descId }, 'Description (optional)'),
      description,
      descError.element,
      headers.element,
      rate.elements,
      ordering.element,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')),
    );
    const errors: Record<string, FieldError> = { url: urlError, events: eventsError, secret: secretError, description: descError, rate_limit_per_second: rate.error, ordering: ordering.error };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      for (const e of Object.values(errors)) e.clear();
      const rows = headers.read();
      if ('problem' in rows) {
        this.status.error(new Error(`headers: ${rows.problem}`));
        return;
      }
      void this.status.guard(async () => {
        const events = boxes.filter((b) => b.checked).map((b) => b.value);
        const body: Parameters<Api['createWebhook']>[0] = { url: url.value.trim(), events };
        if (secret.value) body.secret = secret.value;
        if (description.value.trim()) body.description = description.value.trim();
        if (Object.keys(rows.headers).length) body.headers = rows.headers;
        const rateLimit = rateLimitFromInput(rate.input.value);
        if (rateLimit !== null) body.rate_limit_per_second = rateLimit;
        body.ordering = ordering.value();
        let created: Webhook;
        try {
          created = await this.api.createWebhook(body);
        } catch (error) {
          // The API's 400 is also shown beside the field it names (a header's row for `headers.<Name>`).
          const target = error instanceof ApiError ? fieldTarget(error.field) : null;
          if (target?.kind === 'header') headers.headerError(target.name, (error as ApiError).detail);
          else if (target?.name === 'headers') headers.editorError((error as ApiError).detail);
          else if (target && errors[target.name]) errors[target.name]!.show((error as ApiError).detail);
          throw error;
        }
        secret.value = '';
        url.value = '';
        description.value = '';
        rate.input.value = '';
        ordering.reset();
        headers.reset();
        this.status.ok(`Saved webhook ${created.id} for ${created.url}.`);
        if (created.secret) this.showSecret('Your signing secret', created.secret);
        await this.load();
      });
    });
    const old = this.addSection.querySelector('form');
    if (old) old.replaceWith(form);
    else this.addSection.appendChild(form);
  }

  private renderList(): void {
    this.more.hidden = this.cursor === null;
    if (this.webhooks.length === 0) {
      replace(this.list, h('p', { class: 'hint' }, 'No webhooks yet.'));
      return;
    }
    replace(
      this.list,
      h(
        'table',
        { class: 'webhooks' },
        h('caption', { class: 'visually-hidden' }, 'Your webhooks'),
        h('thead', {}, h('tr', {}, ['URL', 'Events', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, this.webhooks.map((w) => this.row(w))),
      ),
    );
  }

  private row(w: Webhook): HTMLTableRowElement {
    const toggle =
      w.status === 'active'
        ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Disable ${w.url}`, onclick: () => void this.setStatus(w, 'disabled') }, 'Disable')
        : h('button', { type: 'button', 'aria-label': `Enable ${w.url}`, onclick: () => void this.setStatus(w, 'active') }, 'Enable');
    return h(
      'tr',
      { 'data-webhook-id': w.id },
      h(
        'td',
        {},
        h('span', { class: 'url' }, w.url),
        h('br'),
        h('small', {}, `${w.id} · secret …${w.secret_hint}`, w.description ? ` · ${w.description}` : ''),
        h('br'),
        h(
          'small',
          { 'data-field': 'delivery-controls' },
          Object.keys(w.headers ?? {}).length ? ['Headers: ', Object.entries(w.headers).map(([name, value], i) => [i ? ', ' : '', h('code', {}, `${name}: ${value}`)])] : 'No custom headers',
          ` · Rate limit: ${rateLimitText(w.rate_limit_per_second ?? null)}`,
          ` · Ordering: ${ORDERING_LABELS[w.ordering ?? 'none']}`,
        ),
      ),
      h('td', {}, w.events.map((e) => [h('code', {}, e), ' '])),
      h('td', {}, h('span', { class: `badge status-${w.status}` }, w.status), w.disabled_reason ? [h('br'), h('small', {}, w.disabled_reason)] : null),
      h(
        'td',
        { class: 'row-actions' },
        h('button', { type: 'button', 'aria-label': `Open ${w.url}`, onclick: () => this.onOpen(w) }, 'Open'),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit delivery settings of ${w.url}`, onclick: () => this.onOpen(w, 'edit') }, 'Edit'),
        toggle,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate secret of ${w.url}`, onclick: () => void this.rotate(w) }, 'Rotate secret'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${w.url}`, onclick: () => void this.remove(w) }, 'Delete'),
      ),
    );
  }

  async setStatus(w: Webhook, status: 'active' | 'disabled'): Promise<void> {
    await this.status.guard(async () => {
      const updated = await this.api.setStatus(w, status);
      this.status.ok(`${status === 'active' ? 'Enabled' : 'Disabled'} ${updated.url}.`);
      await this.load();
      this.onChanged(updated);
    });
  }

  private async rotate(w: Webhook): Promise<void> {
    if (!(await confirmDialog('Rotate secret', `Rotate the signing secret of ${w.url}? The old secret keeps signing beside the new one for 24 hours.`, 'Rotate secret'))) return;
    await this.status.guard(async () => {
      const rotated = await this.api.rotateSecret(w);
      this.status.ok(`Rotated the secret of ${rotated.url}; the old one signs until ${rotated.previous_secret_expires_at ?? 'now'}.`);
      if (rotated.secret) this.showSecret('Your new signing secret', rotated.secret);
      await this.load();
      this.onChanged(rotated);
    });
  }

  private async remove(w: Webhook): Promise<void> {
    if (!(await confirmDialog('Delete webhook', `Delete the webhook for ${w.url}? Deliveries to it stop at once.`, 'Delete', true))) return;
    await this.status.guard(async () => {
      await this.api.deleteWebhook(w);
      this.status.ok(`Deleted ${w.url}.`);
      await this.load();
      this.onChanged(null, w.id);
    });
  }

  /** A secret is shown once, in a dialog, as text the user can select. */
  private showSecret(title: string, secret: string): void {
    const dialog = new Dialog(title);
    dialog.body.append(h('p', {}, 'Copy it now: it is not shown again.'), h('p', {}, h('code', { class: 'secret' }, secret)));
    dialog.button('Done', () => dialog.close());
    dialog.open();
  }
}
