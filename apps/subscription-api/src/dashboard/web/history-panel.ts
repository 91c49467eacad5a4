import type { HistoryEntry } from './api.js';
import { formatTime, h } from './dom.js';

/** A webhook's change history (every change, oldest first): version, change, who, when, what. */
export function historyPanel(entries: readonly HistoryEntry[]): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'history-h' },
    h('h3', { id: 'history-h' }, 'Change history'),
    h(
      'table',
      { class: 'history' },
      h('caption', { class: 'visually-hidden' }, 'Changes, oldest first'),
      h('thead', {}, h('tr', {}, ['Version', 'Change', 'By', 'When', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        entries.map((e) => h('tr', {}, h('td', {}, `v${e.version}`), h('td', {}, h('code', {}, e.type)), h('td', {}, e.actor), h('td', {}, formatTime(e.occurred_at)), h('td', {}, h('small', {}, JSON.stringify(e.data))))),
      ),
    ),
  );
}
