import type { Stats } from './api.js';
import { h, svg, uid } from './dom.js';

const WIDTH = 720;
const HEIGHT = 160;
const PAD_BOTTOM = 22;
const PAD_LEFT = 34;

/**
 * Succeeded and failed attempts per hour over the last 24 h: an inline SVG bar chart (succeeded
 * green, failed red, side by side per hour) described by a caption, and the same numbers as a data
 * table (the accessible alternative; the SVG is a labelled image).
 */
export function statsChart(stats: Stats): HTMLElement {
  const buckets = stats.buckets;
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.succeeded, b.failed)));
  const plotHeight = HEIGHT - PAD_BOTTOM - 8;
  const slot = (WIDTH - PAD_LEFT) / Math.max(1, buckets.length);
  const barWidth = Math.max(2, slot / 2 - 2);
  const titleId = uid('chart-title');
  const bars = buckets.flatMap((b, i) => {
    const x = PAD_LEFT + i * slot;
    const ok = (b.succeeded / max) * plotHeight;
    const bad = (b.failed / max) * plotHeight;
    const hour = b.hour.slice(11, 13);
    return [
      svg('rect', { x: x + 1, y: 8 + plotHeight - ok, width: barWidth, height: ok, class: 'bar-ok' }, svg('title', {}, `${hour}:00 UTC: ${b.succeeded} succeeded`)),
      svg('rect', { x: x + 1 + barWidth, y: 8 + plotHeight - bad, width: barWidth, height: bad, class: 'bar-failed' }, svg('title', {}, `${hour}:00 UTC: ${b.failed} failed`)),
      i % 3 === 0 ? svg('text', { x: x + 1, y: HEIGHT - 6, class: 'axis' }, `${hour}h`) : null,
    ];
  });
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': titleId, class: 'chart' },
    svg('title', { id: titleId }, `Attempts per hour, last 24 hours: ${stats.totals.succeeded} succeeded, ${stats.totals.failed} failed`),
    svg('line', { x1: PAD_LEFT, y1: 8 + plotHeight, x2: WIDTH, y2: 8 + plotHeight, class: 'axis-line' }),
    svg('text', { x: 0, y: 16, class: 'axis' }, String(max)),
    svg('text', { x: 0, y: 8 + plotHeight, class: 'axis' }, '0'),
    bars,
  );
  const table = h(
    'table',
    { class: 'stats-table' },
    h('caption', {}, 'Attempts per hour (UTC)'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Hour'), h('th', { scope: 'col' }, 'Succeeded'), h('th', { scope: 'col' }, 'Failed'), h('th', { scope: 'col' }, 'Skipped'))),
    h(
      'tbody',
      {},
      buckets.map((b) => h('tr', {}, h('th', { scope: 'row' }, `${b.hour.slice(0, 13).replace('T', ' ')}:00`), h('td', {}, b.succeeded), h('td', {}, b.failed), h('td', {}, b.skipped))),
    ),
  );
  return h(
    'div',
    { class: 'stats' },
    h('p', {}, h('span', { class: 'legend-ok' }, `■ ${stats.totals.succeeded} succeeded`), ' · ', h('span', { class: 'legend-failed' }, `■ ${stats.totals.failed} failed`), ` · ${stats.totals.skipped} skipped`),
    chart,
    h('details', {}, h('summary', {}, 'Show the numbers as a table'), table),
  );
}
