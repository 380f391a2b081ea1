import { describe, expect, test } from 'vitest';
import { renderBlocks } from '../../ui/markdown.js';

/** @typedef {import('../../ui/ipc-types').Block} Block */
/** @typedef {import('../../ui/ipc-types').Inline} Inline */

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

/** @param {string} text @returns {Inline} */
const t = (text) => ({ kind: 'text', text });

/** What the renderer may make, and nothing else. */
const ALLOWED = new Set(['H3', 'H4', 'P', 'STRONG', 'EM', 'UL', 'OL', 'LI', 'BR', 'CODE', 'PRE', 'HR', 'MARK']);

/** @param {Block[]} blocks */
function render(blocks) {
  const el = document.createElement('div');
  el.textContent = 'the previous note';
  renderBlocks(el, blocks);
  return el;
}

const tags = (/** @type {Element} */ el) => [...el.querySelectorAll('*')].map((e) => e.tagName);
const texts = (/** @type {Element} */ el, /** @type {string} */ css) =>
  [...el.querySelectorAll(css)].map((e) => e.textContent);

describe('renderBlocks', () => {
  test('headings, paragraphs, bold, italics, lists and line breaks become their elements', () => {
    const el = render([
      { kind: 'heading', level: 1, inlines: [t('Assessment')] },
      {
        kind: 'paragraph',
        inlines: [
          { kind: 'strong', inlines: [t('BP')] },
          t(' 120/80, '),
          { kind: 'emphasis', inlines: [t('stable')] },
          { kind: 'break' },
          t('Next line'),
        ],
      },
      { kind: 'heading', level: 2, inlines: [t('Plan')] },
      {
        kind: 'list',
        ordered: false,
        start: null,
        items: [
          [{ kind: 'paragraph', inlines: [t('Rest')] }],
          [
            { kind: 'paragraph', inlines: [t('Ice')] },
            { kind: 'list', ordered: true, start: 3, items: [[{ kind: 'paragraph', inlines: [t('twice daily')] }]] },
          ],
        ],
      },
      { kind: 'code', text: 'raw <b>text</b>\n  kept' },
      { kind: 'rule' },
    ]);
    expect(tags(el)).toEqual([
      'H3', 'P', 'STRONG', 'EM', 'BR', 'H4', 'UL', 'LI', 'P', 'LI', 'P', 'OL', 'LI', 'P', 'PRE', 'CODE', 'HR',
    ]);
    expect(texts(el, 'h3')).toEqual(['Assessment']);
    expect(texts(el, 'h4')).toEqual(['Plan']);
    expect(texts(el, 'strong')).toEqual(['BP']);
    expect(texts(el, 'em')).toEqual(['stable']);
    expect(texts(el, 'ul > li')).toEqual(['Rest', 'Icetwice daily']);
    expect(/** @type {HTMLOListElement} */ (el.querySelector('ol')).start).toBe(3);
    expect(el.querySelector('p')?.textContent).toBe('BP 120/80, stableNext line');
    expect(el.querySelector('pre code')?.textContent).toBe('raw <b>text</b>\n  kept');
    expect(el.querySelector('pre b')).toBe(null);
    expect(el.textContent?.includes('the previous note')).toBe(false); // replaced, not added to
  });

  test('markup in the text stays text: no element made from it, nothing run', () => {
    const el = render([
      { kind: 'paragraph', inlines: [t(HOSTILE), { kind: 'strong', inlines: [t(HOSTILE)] }] },
      { kind: 'heading', level: 3, inlines: [{ kind: 'mark', text: HOSTILE }] },
      { kind: 'code', text: HOSTILE },
    ]);
    document.body.append(el);
    expect(el.querySelectorAll('img, script, b').length).toBe(0);
    expect(tags(el).every((tag) => ALLOWED.has(tag))).toBe(true);
    expect(el.querySelector('p')?.textContent).toBe(HOSTILE + HOSTILE);
    expect(el.querySelector('mark')?.textContent).toBe(HOSTILE);
    expect(/** @type {any} */ (window).__pwned).toBe(undefined);
    el.remove();
  });

  test('search matches are <mark>; an empty note is empty; an unknown kind draws nothing', () => {
    const el = render([{ kind: 'paragraph', inlines: [t('Knee pain after '), { kind: 'mark', text: 'skiing' }, t('.')] }]);
    expect(texts(el, 'p > mark')).toEqual(['skiing']);
    expect(el.textContent).toBe('Knee pain after skiing.');
    expect(render([]).childNodes.length).toBe(0);
    const odd = render(/** @type {any} */ ([{ kind: 'table', rows: [['<i>x</i>']] }]));
    expect(odd.textContent).toBe('');
    expect(odd.children.length).toBe(0);
  });

  test('an ordered list starting at 1 has no start attribute', () => {
    const el = render([{ kind: 'list', ordered: true, start: null, items: [[{ kind: 'paragraph', inlines: [t('a')] }]] }]);
    expect(el.querySelector('ol')?.hasAttribute('start')).toBe(false);
  });
});
