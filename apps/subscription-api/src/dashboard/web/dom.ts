/**
 * The dashboard's only way to build DOM: elements, attributes and text nodes. Text (a URL, a
 * description, a receiver's response excerpt) always becomes a text node, never markup: nothing
 * here reads or writes innerHTML.
 */
export type Child = Node | string | number | null | undefined | false;
/** A child, or (nested) lists of children. */
export type Children = Child | readonly Children[];
export type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

function apply(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, '').toLowerCase(), value as EventListener);
    else if (value === true) el.setAttribute(name, '');
    else if (value === false || value === null || value === undefined) continue;
    else el.setAttribute(name, String(value));
  }
}

function append(el: Node, children: readonly Children[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child as readonly Children[]);
    else if (child === null || child === undefined || child === false) continue;
    else if (typeof child === 'string' || typeof child === 'number') el.appendChild(document.createTextNode(String(child)));
    else el.appendChild(child as Node);
  }
}

/** `h('button', { type: 'button', onclick: fn }, 'Save')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Children[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element (the chart). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Children[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Children[]): void {
  el.replaceChildren();
  append(el, children);
}

/** An element the page shell must contain. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

let idCounter = 0;
/** A fresh element id (labels, aria-labelledby). */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** `2024-01-15 10:30:00 UTC` from an ISO time (null → an em dash). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC`;
}
