import { ApiError, type Api, type Webhook } from './api.js';
import { fieldTarget, ORDERING_LABELS, orderingFromInput, ORDERINGS, rateLimitFromInput, settingsPatch, type Ordering } from './delivery-settings.js';
import { h, replace, uid } from './dom.js';
import { FieldError, HeadersEditor } from './headers-editor.js';
import type { Status } from './status.js';

const RATE_LIMIT = { min: 1, max: 10_000 };

/** "Rate limit (optional)": a whole number of deliveries per second, 1-10,000; empty = no limit. */
export function rateLimitInput(initial: number | null): { elements: HTMLElement[]; input: HTMLInputElement; error: FieldError } {
  const id = uid('rate-limit');
  const input = h('input', { id, name: 'rate_limit_per_second', type: 'number', inputmode: 'numeric', min: RATE_LIMIT.min, max: RATE_LIMIT.max, step: 1, value: initial ?? '', 'aria-describedby': `${id}-hint` });
  const error = new FieldError([input]);
  return {
    elements: [
      h('label', { for: id }, 'Rate limit, deliveries per second (optional)'),
      input,
      h('p', { id: `${id}-hint`, class: 'hint' }, `${RATE_LIMIT.min} to ${RATE_LIMIT.max.toLocaleString('en')}; deliveries beyond it wait (they do not fail). Empty: no limit.`),
      error.element,
    ],
    input,
    error,
  };
}

/**
 * "Ordering" (decision 0017): a radio group, "None (fastest)" / "Per call, in ingest order", with its
 * hint. The group's name is unique on the page (the Add form and an edit form can both be open).
 * Arrow keys move between the two radios; Tab enters the group at the checked one.
 */
export function orderingInput(initial: Ordering): { element: HTMLFieldSetElement; value: () => Ordering; reset: () => void; error: FieldError } {
  const name = uid('ordering');
  const radios = ORDERINGS.map((o) => h('input', { type: 'radio', name, value: o, checked: o === initial }));
  const error = new FieldError(radios);
  const hintId = `${name}-hint`;
  const element = h(
    'fieldset',
    { 'aria-describedby': hintId, 'data-field': 'ordering' },
    h('legend', {}, 'Ordering'),
    radios.map((radio, i) => h('label', { class: 'check' }, radio, ' ', ORDERING_LABELS[ORDERINGS[i]!])),
    h('p', { id: hintId, class: 'hint' }, "Per call: each call's events arrive in the order they were ingested; a failing delivery holds back only later events of the same call."),
    error.element,
  );
  return {
    element,
    value: () => orderingFromInput(radios.find((r) => r.checked)?.value),
    reset: () => {
      for (const r of radios) r.checked = r.value === 'none';
    },
    error,
  };
}

/** `Authorization: Bearer …` lines, as text. */
export function headersList(headers: Readonly<Record<string, string>>): HTMLElement {
  const entries = Object.entries(headers);
  if (entries.length === 0) return h('span', { class: 'hint' }, 'none');
  return h('ul', { class: 'header-list' }, entries.map(([name, value]) => h('li', {}, h('code', {}, `${name}: ${value}`))));
}

export function rateLimitText(rate: number | null): string {
  return rate === null ? 'no limit' : `at most ${rate} per second`;
}

/**
 * "Delivery settings" of one webhook: its custom headers (values shown: they are not secrets), rate
 * limit and ordering, and "Edit delivery settings": URL, events, description, headers, rate limit and ordering (what
 * `PATCH /v1/webhooks/{id}` accepts besides status, which Disable/Enable sets, and the secret, which
 * Rotate secret sets). Only changed fields are sent, with If-Match; an API 400 is shown beside the
 * field it names (`headers.<Name>` beside that header's row).
 */
export class SettingsPanel {
  readonly element: HTMLElement;
  private readonly body = h('div');
  readonly editButton: HTMLButtonElement;

  constructor(
    private readonly api: Api,
    private readonly status: Status,
    private readonly webhook: Webhook,
    private readonly eventTypes: readonly string[],
    private readonly onSaved: (w: Webhook) => void,
  ) {
    this.editButton = h('button', { type: 'button', onclick: () => this.edit() }, 'Edit delivery settings');
    this.element = h('section', { class: 'panel', 'aria-labelledby': 'settings-h', 'data-field': 'delivery-settings' }, h('h3', { id: 'settings-h' }, 'Delivery settings'), this.body);
    this.view();
  }

  private view(): void {
    const w = this.webhook;
    replace(
      this.body,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Custom headers'),
        h('dd', { 'data-field': 'webhook-headers' }, headersList(w.headers)),
        h('dt', {}, 'Rate limit'),
        h('dd', { 'data-field': 'webhook-rate-limit' }, rateLimitText(w.rate_limit_per_second)),
        h('dt', {}, 'Ordering'),
        h('dd', { 'data-field': 'webhook-ordering' }, ORDERING_LABELS[w.ordering ?? 'none']),
      ),
      h('div', { class: 'actions' }, this.editButton),
    );
  }

  /** Opens the form (the focus goes to its first field). */
  edit(): void {
    const w = this.webhook;
    const ids = { url: uid('edit-url'), desc: uid('edit-desc') };
    const url = h('input', { id: ids.url, name: 'url', type: 'url', required: true, autocomplete: 'off', value: w.url });
    const urlError = new FieldError([url]);
    const types = [...this.eventTypes, ...w.events.filter((e) => !this.eventTypes.includes(e))];
    const boxes = types.map((t) => h('input', { type: 'checkbox', name: 'events', value: t, checked: w.events.includes(t) }));
    const eventsError = new FieldError(boxes);
    const description = h('input', { id: ids.desc, name: 'description', type: 'text', maxlength: 500, autocomplete: 'off', value: w.description ?? '' });
    const descError = new FieldError([description]);
    const headers = new HeadersEditor(w.headers);
    const rate = rateLimitInput(w.rate_limit_per_second);
    const ordering = orderingInput(w.ordering ?? 'none');
    const save = h('button', { type: 'submit' }, 'Save changes');
    const form = h(
      'form',
      { class: 'edit-form', 'aria-label': `Edit delivery settings of ${w.url}` },
      h('label', { for: ids.url }, 'Endpoint URL'),
      url,
      urlError.element,
      h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((box, i) => h('label', { class: 'check' }, box, ' ', h('code', {}, types[i]!))), eventsError.element),
      h('label', { for: ids.desc }, 'Description (optional)'),
      description,
      descError.element,
      headers.element,
      rate.elements,
      ordering.element,
      h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'secondary', onclick: () => this.cancel() }, 'Cancel')),
    );
    const errors: Record<string, FieldError> = { url: urlError, events: eventsError, description: descError, rate_limit_per_second: rate.error, ordering: ordering.error };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      for (const e of Object.values(errors)) e.clear();
      const rows = headers.read();
      if ('problem' in rows) {
        this.status.error(new Error(`headers: ${rows.problem}`));
        return;
      }
      const patch = settingsPatch(w, {
        url: url.value.trim(),
        events: boxes.filter((b) => b.checked).map((b) => b.value),
        description: description.value.trim() || null,
        headers: rows.headers,
        rate_limit_per_second: rateLimitFromInput(rate.input.value),
        ordering: ordering.value(),
      });
      if (Object.keys(patch).length === 0) {
        this.status.ok('Nothing changed: no update sent.');
        return;
      }
      save.disabled = true;
      void this.api
        .updateWebhook(w, patch)
        .then((updated) => {
          this.status.ok(`Saved the delivery settings of ${updated.url}.`);
          this.onSaved(updated);
        })
        .catch((error: unknown) => {
          this.status.error(error);
          if (!(error instanceof ApiError)) return;
          const target = fieldTarget(error.field);
          if (target?.kind === 'header') headers.headerError(target.name, error.detail);
          else if (target?.name === 'headers') headers.editorError(error.detail);
          else if (target && errors[target.name]) errors[target.name]!.show(error.detail);
        })
        .finally(() => {
          save.disabled = false;
        });
    });
    replace(this.body, form);
    url.focus();
  }

  private cancel(): void {
    this.view();
    this.editButton.focus();
  }
}
