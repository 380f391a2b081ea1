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
