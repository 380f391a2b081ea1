// @ts-check
// Marked-up text built from nodes, never from HTML: search matches as <mark>, changes of a
// revised note as <ins>/<del>. Every piece of note text goes in with `textContent`.

/** @typedef {import('./ipc.js').TextPart} TextPart */
/** @typedef {import('./ipc.js').DiffPart} DiffPart */

/**
 * Replaces `el`'s children with `parts`, the matched ones in <mark>.
 * @param {HTMLElement} el @param {TextPart[]} parts
 */
export function setParts(el, parts) {
  el.replaceChildren(
    ...parts.map((p) => {
      if (!p.hit) return document.createTextNode(p.text);
      const m = document.createElement('mark');
      m.textContent = p.text;
      return m;
    }),
  );
}

/**
 * Replaces `el`'s children with a word diff: added words in <ins>, removed ones in <del>.
 * @param {HTMLElement} el @param {DiffPart[]} parts
 * @returns {{added: number, removed: number}} how many runs of each (for the summary)
 */
export function setDiff(el, parts) {
  let added = 0;
  let removed = 0;
  el.replaceChildren(
    ...parts.map((p) => {
      if (p.kind === 'same') return document.createTextNode(p.text);
      const tag = p.kind === 'added' ? 'ins' : 'del';
      if (p.kind === 'added') added += 1;
      else removed += 1;
      const e = document.createElement(tag);
      e.textContent = p.text;
      return e;
    }),
  );
  return { added, removed };
}
