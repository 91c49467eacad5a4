import { headersFromRows, MAX_HEADERS, rowOfHeader, type HeaderRow } from './delivery-settings.js';
import { h, uid } from './dom.js';

/**
 * An error shown beside one control: a text paragraph the control points at (`aria-describedby`,
 * `aria-invalid`), so a screen reader reads it with the control. Empty and hidden when clear.
 */
export class FieldError {
  readonly element: HTMLParagraphElement;

  constructor(private readonly controls: readonly HTMLElement[]) {
    this.element = h('p', { id: uid('field-error'), class: 'field-error', hidden: true, 'data-field-error': '' });
  }

  show(message: string): void {
    this.element.textContent = message;
    this.element.hidden = false;
    for (const c of this.controls) {
      c.setAttribute('aria-invalid', 'true');
      const described = (c.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
      if (!described.includes(this.element.id)) c.setAttribute('aria-describedby', [...described, this.element.id].join(' '));
    }
  }

  clear(): void {
    this.element.textContent = '';
    this.element.hidden = true;
    for (const c of this.controls) {
      c.removeAttribute('aria-invalid');
      const rest = (c.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== this.element.id);
      if (rest.length) c.setAttribute('aria-describedby', rest.join(' '));
      else c.removeAttribute('aria-describedby');
    }
  }
}

interface Row {
  element: HTMLDivElement;
  name: HTMLInputElement;
  value: HTMLInputElement;
  remove: HTMLButtonElement;
  error: FieldError;
  nameLabel: HTMLSpanElement;
  valueLabel: HTMLSpanElement;
}

/**
 * "Custom headers (optional)": name + value rows, each labelled ("Name of header 2"), with Remove;
 * "Add header" appends a row and moves the focus to its name (up to 10 rows). An API error naming
 * `headers.<Name>` is shown beside that row; one naming `headers` beside the whole editor.
 */
export class HeadersEditor {
  readonly element: HTMLFieldSetElement;
  private readonly rowsBox = h('div', { class: 'header-rows' });
  private readonly addButton: HTMLButtonElement;
  private readonly empty = h('p', { class: 'hint' }, 'No custom headers.');
  private readonly error: FieldError;
  private rows: Row[] = [];

  constructor(initial: Readonly<Record<string, string>> = {}) {
    const hintId = uid('headers-hint');
    this.addButton = h('button', { type: 'button', class: 'secondary', 'aria-describedby': hintId, onclick: () => this.add('', '', true) }, 'Add header');
    this.error = new FieldError([this.addButton]);
    this.element = h(
      'fieldset',
      { class: 'headers-editor', 'data-field': 'headers' },
      h('legend', {}, 'Custom headers (optional)'),
      h('p', { id: hintId, class: 'hint' }, `Sent with every delivery, beside ours (up to ${MAX_HEADERS}). Values are shown on this page and in the delivery log: they are not stored as secrets.`),
      this.empty,
      this.rowsBox,
      this.error.element,
      this.addButton,
    );
    for (const [name, value] of Object.entries(initial)) this.add(name, value, false);
    this.sync();
  }

  /** The rows as typed (the form turns them into `headers`, see headersFromRows). */
  values(): HeaderRow[] {
    return this.rows.map((r) => ({ name: r.name.value, value: r.value.value }));
  }

  /**
   * For a submit: clears the previous errors and returns the rows as `headers`, or shows the first
   * problem beside its row and returns its message.
   */
  read(): { headers: Record<string, string> } | { problem: string } {
    this.clearErrors();
    const rows = headersFromRows(this.values());
    if (!('problem' in rows)) return rows;
    this.rowError(rows.problem.row, rows.problem.message);
    return { problem: rows.problem.message };
  }

  clearErrors(): void {
    this.error.clear();
    for (const r of this.rows) r.error.clear();
  }

  /** Shows `message` beside row `index` (its name gets the focus when asked). */
  rowError(index: number, message: string, focus = true): void {
    const row = this.rows[index];
    if (!row) return this.editorError(message);
    row.error.show(message);
    if (focus) row.name.focus();
  }

  /** Shows the API's error about header `name` beside its row (or beside the editor if no row has that name). */
  headerError(name: string, message: string): void {
    const index = rowOfHeader(this.values(), name);
    if (index >= 0) this.rowError(index, message);
    else this.editorError(message);
  }

  editorError(message: string): void {
    this.error.show(message);
  }

  reset(): void {
    this.rows = [];
    this.rowsBox.replaceChildren();
    this.clearErrors();
    this.sync();
  }

  private add(name: string, value: string, focus: boolean): void {
    if (this.rows.length >= MAX_HEADERS) return;
    const nameId = uid('header-name');
    const valueId = uid('header-value');
    const nameLabel = h('span', { class: 'visually-hidden' });
    const valueLabel = h('span', { class: 'visually-hidden' });
    const nameInput = h('input', { id: nameId, type: 'text', class: 'header-name', autocomplete: 'off', spellcheck: 'false', maxlength: 100, placeholder: 'Authorization', value: name });
    const valueInput = h('input', { id: valueId, type: 'text', class: 'header-value', autocomplete: 'off', spellcheck: 'false', maxlength: 1000, value });
    const remove = h('button', { type: 'button', class: 'secondary' }, 'Remove');
    const error = new FieldError([nameInput, valueInput]);
    const element = h(
      'div',
      { class: 'header-row' },
      h('div', {}, h('label', { for: nameId }, 'Name', nameLabel), nameInput),
      h('div', {}, h('label', { for: valueId }, 'Value', valueLabel), valueInput),
      h('div', { class: 'header-remove' }, remove),
      error.element,
    );
    const row: Row = { element, name: nameInput, value: valueInput, remove, error, nameLabel, valueLabel };
    remove.addEventListener('click', () => this.remove(row));
    this.rows.push(row);
    this.rowsBox.appendChild(element);
    this.sync();
    if (focus) nameInput.focus();
  }

  private remove(row: Row): void {
    const index = this.rows.indexOf(row);
    this.rows.splice(index, 1);
    row.element.remove();
    this.sync();
    // The focus goes to the row that took its place, else the previous one, else "Add header".
    const next = this.rows[index] ?? this.rows[index - 1];
    (next ? next.name : this.addButton).focus();
  }

  /** Numbers the rows' labels and buttons, and disables "Add header" at the limit. */
  private sync(): void {
    this.rows.forEach((r, i) => {
      r.nameLabel.textContent = ` of header ${i + 1}`;
      r.valueLabel.textContent = ` of header ${i + 1}`;
      r.remove.setAttribute('aria-label', `Remove header ${i + 1}`);
      r.element.setAttribute('data-header-row', String(i + 1));
    });
    this.empty.hidden = this.rows.length > 0;
    const full = this.rows.length >= MAX_HEADERS;
    this.addButton.disabled = full;
    this.addButton.textContent = full ? `Add header (at most ${MAX_HEADERS})` : 'Add header';
  }
}
