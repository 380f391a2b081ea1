// @ts-check
// Typed access to the page's elements: `el('id')` is an HTMLElement, `el('id', HTMLInputElement)`
// an input, so strict tsc checks every property the UI touches. A missing element, or one of
// another kind, is a bug in index.html: said at once, by name.

/**
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{new (): T, prototype: T}} [kind]
 * @returns {T}
 */
export function el(id, kind) {
  const e = document.getElementById(id);
  const want = kind ?? HTMLElement;
  if (!e) throw new Error(`#${id} is missing, expected ${want.name}`);
  const tag = e.tagName.toLowerCase();
  if (!(e instanceof want)) throw new Error(`#${id} is a <${tag}>, expected ${want.name}`);
  return /** @type {T} */ (e);
}

/**
 * Sets an element's text only when it changes: the status strip is redrawn every second, and
 * an unchanged text would still replace the element's text node and lay the page out again.
 * @param {HTMLElement} e @param {string} text
 */
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}
