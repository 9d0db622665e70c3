/**
 * DOM helpers. Text from the gateway (function names, reasons, key data) only
 * ever goes in through `textContent` or `dataset`, never as markup: function
 * names can be chosen by clients when no allow-list is configured.
 */

/** The element with this id; a missing one is a bug in index.html, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, type?: new () => T): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`status page: #${id} is missing from index.html`);
  if (type !== undefined && !(element instanceof type)) {
    throw new Error(`status page: #${id} is not a ${type.name}`);
  }
  return element as T;
}

/** The element with this `data-testid` (index.html has one of each). */
export function byTestId(testId: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (element === null) throw new Error(`status page: [data-testid="${testId}"] is missing`);
  return element;
}

/** Sets a figure: the raw value for machines, the formatted text for people. */
export function setFigure(element: HTMLElement, raw: string, text: string): void {
  element.dataset.value = raw;
  element.textContent = text;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

/** A table cell holding one figure, tagged with `data-field`. */
export function figureCell(field: string, raw: string, text: string): HTMLTableCellElement {
  const cell = element('td', undefined, 'num');
  cell.dataset.field = field;
  setFigure(cell, raw, text);
  return cell;
}
