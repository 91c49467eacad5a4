import { Api, type Webhook } from './api.js';
import { byId, h, replace, uid } from './dom.js';
import { Status } from './status.js';
import { WebhookDetail } from './webhook-detail.js';
import { WebhooksPanel } from './webhooks-panel.js';

/** Entry module of "Settings → Webhooks": the API key form, then the list, the add form and one webhook's details. */
const api = new Api();
const status = new Status();
let eventTypes: string[] = ['call.started', 'call.ended', 'appointment.created'];

const detail = new WebhookDetail(api, status, () => eventTypes, (w) => void refreshAfterChange(w));
const panel = new WebhooksPanel(
  api,
  status,
  (w, mode) => void status.guard(() => detail.show(w, mode ?? true)),
  (w, removedId) => {
    if (removedId && detail.webhookId === removedId) detail.hide();
    else if (w && detail.webhookId === w.id) void status.guard(() => detail.show(w, false));
  },
);

async function refreshAfterChange(w: Webhook): Promise<void> {
  await status.guard(async () => {
    await panel.load();
  });
  // The detail is re-rendered when the dialog that changed it closes (it holds the dialog's state until then).
  const openDialog = document.querySelector('dialog[open]');
  const rerender = () => void status.guard(() => detail.show(w, false));
  if (openDialog) openDialog.addEventListener('close', rerender, { once: true });
  else rerender();
}

async function connect(): Promise<void> {
  await status.guard(async () => {
    const [types, ips] = await Promise.all([api.eventTypes(), api.ips()]);
    eventTypes = types.data.map((t) => t.type);
    await panel.load();
    replace(byId('ips'), ips.data.length ? ips.data.map((ip) => [h('code', {}, ip), ' ']) : 'none configured');
    status.ok(`Loaded ${panel.webhooks.length} ${panel.webhooks.length === 1 ? 'webhook' : 'webhooks'}${panel.hasMore ? ' (more to load)' : ''}.`);
    // A link to /dashboard#wh_… opens that webhook (the id only: never a key in a URL), also one past the first page.
    const linked = panel.webhooks.find((w) => `#${w.id}` === location.hash) ?? (/^#wh_[A-Za-z0-9_]+$/.test(location.hash) && panel.hasMore ? await api.getWebhook(location.hash.slice(1)) : undefined);
    if (linked) await detail.show(linked);
  });
}

function keyForm(): HTMLFormElement {
  const id = uid('key');
  const input = h('input', { id, name: 'api_key', type: 'password', autocomplete: 'off', placeholder: 'odis_sk_…', 'aria-describedby': `${id}-hint`, value: api.key });
  const form = h(
    'form',
    { class: 'inline', 'aria-labelledby': 'key-h' },
    h('label', { for: id }, 'API key'),
    input,
    h('button', { type: 'submit' }, 'Load webhooks'),
    h('p', { id: `${id}-hint`, class: 'hint' }, 'The key stays in this browser tab (sessionStorage) and is sent only as the Authorization header.'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api.key = input.value;
    void connect();
  });
  return form;
}

byId('key-section').appendChild(keyForm());
if (api.key) void connect();
