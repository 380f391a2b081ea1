// @ts-check
// A note's formatted text, drawn from the tree Rust parsed (app::note_text): elements of a
// fixed set of kinds made with createElement, every piece of text a text node. Never HTML:
// markup in a note arrives here as text and stays text, links arrive as their words only.

/** @typedef {import('./ipc-types').Block} Block */
/** @typedef {import('./ipc-types').Inline} Inline */

/**
 * Replaces `target`'s children with the note's blocks.
 * @param {HTMLElement} target @param {Block[]} blocks
 */
export function renderBlocks(target, blocks) {
  target.replaceChildren(...blocks.map(block));
}

/** @param {Block} b @returns {Node} */
function block(b) {
  switch (b.kind) {
    case 'heading': {
      // The pane's own title is an h2: the note's headings sit below it.
      const h = document.createElement(b.level <= 1 ? 'h3' : 'h4');
      appendInlines(h, b.inlines);
      return h;
    }
    case 'paragraph': {
      const p = document.createElement('p');
      appendInlines(p, b.inlines);
      return p;
    }
    case 'list': {
      const list = document.createElement(b.ordered ? 'ol' : 'ul');
      if (b.ordered && b.start !== null && list instanceof HTMLOListElement) list.start = b.start;
      for (const item of b.items) {
        const li = document.createElement('li');
        li.append(...item.map(block));
        list.append(li);
      }
      return list;
    }
    case 'code': {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = b.text;
      pre.append(code);
      return pre;
    }
    case 'rule':
      return document.createElement('hr');
    default:
      // A kind this UI does not know (a newer Rust): nothing rather than a guess.
      return document.createTextNode('');
  }
}

/** @param {HTMLElement} parent @param {Inline[]} inlines */
function appendInlines(parent, inlines) {
  for (const i of inlines) parent.append(inline(i));
}

/** @param {Inline} i @returns {Node} */
function inline(i) {
  switch (i.kind) {
    case 'text':
      return document.createTextNode(i.text);
    case 'mark': {
      const m = document.createElement('mark');
      m.textContent = i.text;
      return m;
    }
    case 'strong': {
      const s = document.createElement('strong');
      appendInlines(s, i.inlines);
      return s;
    }
    case 'emphasis': {
      const e = document.createElement('em');
      appendInlines(e, i.inlines);
      return e;
    }
    case 'code': {
      const c = document.createElement('code');
      c.textContent = i.text;
      return c;
    }
    case 'break':
      return document.createElement('br');
    default:
      return document.createTextNode('');
  }
}
