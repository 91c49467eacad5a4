import { h, uid } from './dom.js';

/**
 * A modal dialog (<dialog> with showModal): focus moves into it, Tab stays inside, Escape closes it
 * (the browser's own behaviour), and focus returns to the control that opened it.
 */
export class Dialog {
  readonly element: HTMLDialogElement;
  readonly body: HTMLDivElement;
  readonly actions: HTMLDivElement;
  private readonly opener: Element | null = document.activeElement;

  constructor(title: string) {
    const titleId = uid('dialog-title');
    this.body = h('div', { class: 'dialog-body' });
    this.actions = h('div', { class: 'actions' });
    this.element = h('dialog', { 'aria-labelledby': titleId }, h('h2', { id: titleId }, title), this.body, this.actions);
    this.element.addEventListener('close', () => {
      this.element.remove();
      if (this.opener instanceof HTMLElement && this.opener.isConnected) this.opener.focus();
    });
    document.body.appendChild(this.element);
  }

  open(): void {
    this.element.showModal();
  }

  close(): void {
    if (this.element.open) this.element.close();
  }

  /** A button in the dialog's action row. */
  button(label: string, onClick: () => void, className = ''): HTMLButtonElement {
    const button = h('button', { type: 'button', class: className, onclick: onClick }, label);
    this.actions.appendChild(button);
    return button;
  }
}

/** Asks a yes/no question; resolves true on confirm, false on cancel or Escape. */
export function confirmDialog(title: string, text: string, confirmLabel: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = new Dialog(title);
    let answer = false;
    dialog.body.appendChild(h('p', {}, text));
    dialog.button('Cancel', () => dialog.close(), 'secondary');
    dialog.button(confirmLabel, () => {
      answer = true;
      dialog.close();
    }, danger ? 'danger' : '');
    dialog.element.addEventListener('close', () => resolve(answer));
    dialog.open();
  });
}
