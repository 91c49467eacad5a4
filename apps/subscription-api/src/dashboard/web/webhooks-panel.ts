import type { Api, EventType, Webhook } from './api.js';
import { confirmDialog, Dialog } from './dialog.js';
import { byId, h, replace, uid } from './dom.js';
import type { Status } from './status.js';

const FALLBACK_TYPES = ['call.started', 'call.ended', 'appointment.created'];

/** "Add Webhook" (URL, events, optional secret and description, Save) and "Your webhooks" (the list with its actions). */
export class WebhooksPanel {
  private readonly addSection = byId('add-section');
  private readonly listSection = byId('list-section');
  private readonly list = h('div', { class: 'list' });
  private eventTypes: EventType[] = FALLBACK_TYPES.map((type) => ({ type, description: '' }));
  webhooks: Webhook[] = [];

  constructor(
    private readonly api: Api,
    private readonly status: Status,
    private readonly onOpen: (webhook: Webhook) => void,
    private readonly onChanged: (webhook: Webhook | null, removedId?: string) => void,
  ) {
    this.listSection.appendChild(this.list);
    this.renderForm();
    replace(this.list, h('p', { class: 'hint' }, 'Enter your API key to load your webhooks.'));
  }

  async load(): Promise<void> {
    const [types, hooks] = await Promise.all([this.api.eventTypes().catch(() => null), this.api.listWebhooks()]);
    if (types?.data.length) {
      this.eventTypes = types.data;
      this.renderForm();
    }
    this.webhooks = hooks.data;
    this.renderList();
  }

  private renderForm(): void {
    const urlId = uid('url');
    const secretId = uid('secret');
    const descId = uid('desc');
    const url = h('input', { id: urlId, name: 'url', type: 'url', required: true, placeholder: 'https://your-server.com/webhooks/odis', autocomplete: 'off' });
    const secret = h('input', { id: secretId, name: 'secret', type: 'text', minlength: 16, autocomplete: 'off', 'aria-describedby': `${secretId}-hint` });
    const description = h('input', { id: descId, name: 'description', type: 'text', maxlength: 500, autocomplete: 'off' });
    const boxes = this.eventTypes.map((t) => h('input', { type: 'checkbox', name: 'events', value: t.type, checked: true }));
    const form = h(
      'form',
      { class: 'add-form', 'aria-labelledby': 'add-h' },
      h('label', { for: urlId }, 'Endpoint URL'),
      url,
      h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((box, i) => h('label', { class: 'check' }, box, ' ', h('code', {}, this.eventTypes[i]!.type), this.eventTypes[i]!.description ? h('span', { class: 'hint' }, ` — ${this.eventTypes[i]!.description}`) : null))),
      h('label', { for: secretId }, 'Signing secret (optional)'),
      secret,
      h('p', { id: `${secretId}-hint`, class: 'hint' }, 'At least 16 characters; leave empty to have one generated (shown once).'),
      h('label', { for: descId }, 'Description (optional)'),
      description,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.status.guard(async () => {
        const events = boxes.filter((b) => b.checked).map((b) => b.value);
        const body: { url: string; events: string[]; secret?: string; description?: string } = { url: url.value.trim(), events };
        if (secret.value) body.secret = secret.value;
        if (description.value.trim()) body.description = description.value.trim();
        const created = await this.api.createWebhook(body);
        secret.value = '';
        url.value = '';
        description.value = '';
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
      h('td', {}, h('span', { class: 'url' }, w.url), h('br'), h('small', {}, `${w.id} · secret …${w.secret_hint}`, w.description ? ` · ${w.description}` : '')),
      h('td', {}, w.events.map((e) => [h('code', {}, e), ' '])),
      h('td', {}, h('span', { class: `badge status-${w.status}` }, w.status), w.disabled_reason ? [h('br'), h('small', {}, w.disabled_reason)] : null),
      h(
        'td',
        { class: 'row-actions' },
        h('button', { type: 'button', 'aria-label': `Open ${w.url}`, onclick: () => this.onOpen(w) }, 'Open'),
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
