import type { Api } from './api.js';
import { scrollable } from './deliveries-panel.js';
import { h, replace, uid } from './dom.js';
import type { Status } from './status.js';

/** "Send test event": the type's sample payload, one attempt; shows the receiver's status code, time and response. */
export function testEventPanel(api: Api, status: Status, webhookId: string, eventTypes: readonly string[], onSent: () => void): HTMLElement {
  const selectId = uid('test-type');
  const select = h('select', { id: selectId, name: 'event' }, eventTypes.map((t) => h('option', { value: t }, t)));
  const result = h('div', { class: 'test-result', 'data-field': 'test-result' });
  const button = h('button', { type: 'submit' }, 'Send test event');
  const form = h('form', { class: 'inline', 'aria-label': 'Send a test event' }, h('label', { for: selectId }, 'Event type'), select, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    replace(result, 'Sending…');
    void status
      .guard(async () => {
        const r = await api.testEvent(webhookId, select.value);
        const answer = r.status_code !== null ? `HTTP ${r.status_code}` : (r.error ?? r.outcome);
        const summary = `Test event ${r.event_id}: ${r.succeeded ? 'succeeded' : 'failed'}, ${answer}, ${r.duration_ms} ms.`;
        replace(result, h('p', {}, summary), h('p', { class: 'label' }, 'Response excerpt'), h('pre', { class: 'excerpt', ...scrollable('Test event response excerpt') }, r.response_excerpt ?? '(none)'));
        status.ok(summary);
        onSent();
      })
      .finally(() => {
        button.disabled = false;
        if (result.textContent === 'Sending…') replace(result);
      });
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'test-h' }, h('h3', { id: 'test-h' }, 'Send test event'), form, result);
}
