import { afterEach, describe, expect, test, vi } from 'vitest';
import { VirtualList } from '../../ui/list.js';

/** @typedef {import('../../ui/ipc.js').NoteRow} NoteRow */

const ROW_H = 40; // the fallback when --row-h is not set
const HEIGHT = 400; // the list shows 10 rows
const OVERSCAN = 6;

/** @param {number} i @param {string} [prefix] @returns {NoteRow} */
const note = (i, prefix = 'n') => ({
  uuid: `${prefix}${i}`,
  patientName: `Patient ${i}`,
  patientUuid: null,
  typeLabel: 'Letter',
  createdAt: '2026-03-14T09:00:00Z',
  status: 'new',
});
/** @param {number} n @param {string} [prefix] */
const notes = (n, prefix) => Array.from({ length: n }, (_, i) => note(i, prefix));

const tick = () => new Promise((r) => setTimeout(r, 0));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** A paged source over `data`, as ui/app.js builds for the unfiltered list. */
function paged(/** @type {NoteRow[]} */ data, key = 'list|null', { failOnce = /** @type {number[]} */ ([]) } = {}) {
  const failing = new Set(failOnce);
  const page = vi.fn(async (/** @type {number} */ offset) => {
    if (failing.delete(offset)) throw { code: 'db', message: 'database is locked' };
    return data.slice(offset, offset + 100);
  });
  return { key, total: () => data.length, page };
}

/** A paged source whose pages arrive when the test says so. */
function gated(/** @type {NoteRow[]} */ data, key = 'list|null') {
  /** @type {Map<number, {resolve: () => void, reject: () => void}>} */
  const pending = new Map();
  const page = vi.fn(
    (/** @type {number} */ offset) =>
      new Promise((resolve, reject) => {
        pending.set(offset, {
          resolve: () => resolve(data.slice(offset, offset + 100)),
          reject: () => reject({ code: 'db', message: 'locked' }),
        });
      }),
  );
  /** Lets the page at `offset` arrive. @param {number} offset */
  const release = async (offset) => {
    const p = pending.get(offset);
    if (!p) throw new Error(`page ${offset} was not requested`);
    pending.delete(offset);
    p.resolve();
    await tick();
  };
  return { key, total: () => data.length, page, pending, release };
}

/** @param {import('vitest').Mock} page */
const offsets = (page) => page.mock.calls.map((c) => c[0]);

function setup({ height = HEIGHT } = {}) {
  document.body.innerHTML = '<div id="list"><div id="list-spacer"></div></div>';
  const el = /** @type {HTMLElement} */ (document.getElementById('list'));
  const spacer = /** @type {HTMLElement} */ (document.getElementById('list-spacer'));
  let h = height;
  Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => h });
  const renderRow = vi.fn((/** @type {HTMLElement} */ rowEl, /** @type {NoteRow|null} */ row) => {
    rowEl.className = row ? 'row' : 'row placeholder';
    rowEl.textContent = row ? row.uuid : '…';
  });
  const onSelect = vi.fn();
  const list = new VirtualList(el, spacer, renderRow, onSelect);
  /** The rows in the DOM, by index. */
  const rows = () => /** @type {HTMLElement[]} */ ([...el.querySelectorAll('[data-index]')]);
  const indices = () => rows().map((r) => Number(r.dataset.index)).sort((a, b) => a - b);
  /** @param {number} i */
  const rowEl = (i) => /** @type {HTMLElement} */ (el.querySelector(`[data-index="${i}"]`));
  const text = (/** @type {number} */ i) => rowEl(i)?.textContent;
  const selected = () => rows().filter((r) => r.classList.contains('selected')).map((r) => r.textContent);
  /** Scrolls as a person would: the position moves, then a scroll event. @param {number} top */
  const scrollTo = async (top) => {
    el.scrollTop = top;
    el.dispatchEvent(new Event('scroll'));
    await tick();
  };
  /** The first contents; what it reports (no selection: null) is not what a test is after. */
  const start = async (/** @type {import('../../ui/list.js').Source} */ src) => {
    await list.setSource(src);
    onSelect.mockClear();
  };
  return {
    start, el, spacer, list, renderRow, onSelect, rows, indices, rowEl, text, selected, scrollTo,
    resize: (/** @type {number} */ nh) => (h = nh),
  };
}

/** [first, last) as a list of indices. */
const range = (/** @type {number} */ a, /** @type {number} */ b) => Array.from({ length: b - a }, (_, i) => a + i);

afterEach(() => {
  document.documentElement.style.removeProperty('--row-h');
});

describe('virtualisation', () => {
  test('with 10,000 rows only those in view and the overscan are in the DOM', async () => {
    const t = setup();
    const src = paged(notes(10_000));
    await t.start(src);

    expect(t.spacer.style.height).toBe(`${10_000 * ROW_H}px`);
    expect(t.indices()).toEqual(range(0, HEIGHT / ROW_H + OVERSCAN));
    expect(t.text(0)).toBe('n0');
    expect(t.text(15)).toBe('n15');
    expect(t.rowEl(7).style.transform).toBe(`translateY(${7 * ROW_H}px)`);
    expect(offsets(src.page)).toEqual([0]);

    await t.scrollTo(5000 * ROW_H);
    await tick();
    expect(t.indices()).toEqual(range(5000 - OVERSCAN, 5000 + HEIGHT / ROW_H + OVERSCAN));
    expect(t.el.children.length).toBe(22 + 1); // the rows and the spacer, nothing left behind
    expect(t.text(5000)).toBe('n5000');
    expect(t.text(4994)).toBe('n4994');
    expect(t.rowEl(5000).style.transform).toBe(`translateY(${5000 * ROW_H}px)`);
    // Only the two pages that cover the view, not the 48 in between.
    expect(offsets(src.page)).toEqual([0, 4900, 5000]);
  });

  test('pages are fetched once each, as they scroll into view', async () => {
    const t = setup();
    const src = paged(notes(10_000));
    await t.start(src);
    for (let row = 0; row <= 250; row += 5) await t.scrollTo(row * ROW_H);
    expect(offsets(src.page)).toEqual([0, 100, 200]);
    expect(t.text(255)).toBe('n255');
    for (let row = 250; row >= 0; row -= 25) await t.scrollTo(row * ROW_H);
    expect(offsets(src.page)).toEqual([0, 100, 200]); // scrolling back needs no fetch
    expect(t.text(0)).toBe('n0');
  });

  test('rows show as placeholders until their page arrives, then render', async () => {
    const t = setup();
    const src = gated(notes(10_000));
    const set = t.list.setSource(src);
    await src.release(0);
    await set;
    await t.scrollTo(3000 * ROW_H);
    expect(t.rowEl(3000).classList.contains('placeholder')).toBe(true);
    expect(t.renderRow).toHaveBeenCalledWith(t.rowEl(3000), null);
    await src.release(2900);
    await src.release(3000);
    expect(t.text(3000)).toBe('n3000');
    expect(t.rows().some((r) => r.classList.contains('placeholder'))).toBe(false);
  });

  test('one fetch at a time: a place scrolled to meanwhile is fetched when it arrives', async () => {
    const t = setup();
    const src = gated(notes(10_000));
    const set = t.list.setSource(src);
    await src.release(0);
    await set;
    await t.scrollTo(5000 * ROW_H);
    await t.scrollTo(8000 * ROW_H);
    await t.scrollTo(8001 * ROW_H);
    expect(offsets(src.page)).toEqual([0, 4900, 5000]);
    await src.release(4900);
    await src.release(5000);
    // The pages that arrived re-render the view, which is now at 8001: its pages follow.
    expect(offsets(src.page)).toEqual([0, 4900, 5000, 7900, 8000]);
    await src.release(7900);
    await src.release(8000);
    expect(t.text(8001)).toBe('n8001');
    expect(t.rows().some((r) => r.classList.contains('placeholder'))).toBe(false);
  });

  test('a resize renders the rows that now fit', async () => {
    /** @type {(() => void)[]} */
    const observers = [];
    vi.stubGlobal(
      'ResizeObserver',
      class {
        constructor(/** @type {() => void} */ cb) {
          observers.push(cb);
        }
        observe() {}
        disconnect() {}
      },
    );
    const t = setup();
    await t.start(paged(notes(1000)));
    expect(t.indices()).toEqual(range(0, 16));
    t.resize(800);
    observers.forEach((cb) => cb());
    expect(t.indices()).toEqual(range(0, 26));
    expect(t.text(25)).toBe('n25');
  });

  test('the row height comes from the --row-h CSS variable', async () => {
    document.documentElement.style.setProperty('--row-h', '32px');
    const t = setup();
    await t.start(paged(notes(1000)));
    expect(t.spacer.style.height).toBe(`${1000 * 32}px`);
    expect(t.rowEl(3).style.transform).toBe('translateY(96px)');
    expect(t.indices()).toEqual(range(0, Math.ceil(HEIGHT / 32) + OVERSCAN));
  });

  test('a source that loads all its rows at once is not paged', async () => {
    const t = setup();
    const load = vi.fn(async () => notes(30, 's'));
    await t.start({ key: 'search|null|null|knee', load });
    expect(load).toHaveBeenCalledTimes(1);
    expect(t.list.total).toBe(30);
    expect(t.spacer.style.height).toBe(`${30 * ROW_H}px`);
    await t.scrollTo(20 * ROW_H);
    expect(t.indices()).toEqual(range(14, 30)); // clipped at the end
    expect(t.text(29)).toBe('s29');
  });
});

describe('selection', () => {
  test('new contents start with nothing selected, and say so', async () => {
    const t = setup();
    await t.list.setSource(paged(notes(100)));
    expect(t.list.selectedIndex).toBe(-1);
    expect(t.selected()).toEqual([]);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
    expect(t.onSelect).toHaveBeenCalledWith(null);
  });

  test('a click selects that row: marked in the DOM, reported after a pause', async () => {
    const t = setup();
    await t.start(paged(notes(100)));
    t.rowEl(3).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(t.selected()).toEqual(['n3']);
    expect(t.rowEl(3).getAttribute('aria-selected')).toBe('true');
    expect(t.rowEl(2).getAttribute('aria-selected')).toBe('false');
    expect(t.onSelect).not.toHaveBeenCalled(); // not at once: see the next test
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(3)));
    expect(t.el.scrollTop).toBe(0); // a click does not scroll
  });

  test('a click on a child of a row selects the row', async () => {
    const t = setup();
    await t.start(paged(notes(100)));
    const span = document.createElement('span');
    t.rowEl(4).appendChild(span);
    span.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(t.list.selectedIndex).toBe(4);
    // A click between rows (on the list itself) selects nothing.
    t.el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(t.list.selectedIndex).toBe(4);
  });

  test('move: from nothing to the first row, then by steps, clamped at both ends', async () => {
    const t = setup();
    await t.start(paged(notes(5)));
    t.list.move(1);
    expect(t.list.selectedIndex).toBe(0);
    t.list.move(1);
    t.list.move(1);
    expect(t.list.selectedIndex).toBe(2);
    t.list.move(-1);
    expect(t.list.selectedIndex).toBe(1);
    t.list.move(-5);
    expect(t.list.selectedIndex).toBe(0);
    t.list.move(50);
    expect(t.list.selectedIndex).toBe(4);
    expect(t.selected()).toEqual(['n4']);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenLastCalledWith(note(4)));
  });

  test('move on an empty list does nothing', async () => {
    const t = setup();
    await t.start(paged([]));
    t.onSelect.mockClear();
    t.list.move(1);
    await sleep(60);
    expect(t.list.selectedIndex).toBe(-1);
    expect(t.onSelect).not.toHaveBeenCalled();
  });

  test('holding j down reports only the row it stops on, and keeps it in view', async () => {
    const t = setup();
    await t.start(paged(notes(100)));
    for (let k = 0; k < 12; k++) t.list.move(1);
    expect(t.list.selectedIndex).toBe(11);
    // Row 11 ends at 480 px; the view is 400 px high.
    expect(t.el.scrollTop).toBe(12 * ROW_H - HEIGHT);
    await sleep(80);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
    expect(t.onSelect).toHaveBeenCalledWith(note(11));
  });

  test('selecting scrolls as little as needed', async () => {
    const t = setup();
    await t.start(paged(notes(1000)));
    await t.scrollTo(100 * ROW_H);
    await t.list.select(105, true); // in view: no scroll
    expect(t.el.scrollTop).toBe(100 * ROW_H);
    await t.list.select(99, true); // just above: it becomes the top row
    expect(t.el.scrollTop).toBe(99 * ROW_H);
    await t.list.select(115, true); // below: it becomes the bottom row
    expect(t.el.scrollTop).toBe(116 * ROW_H - HEIGHT);
  });

  test('selecting a row not loaded yet fetches its page once and reports the note', async () => {
    const t = setup();
    const src = paged(notes(10_000));
    await t.start(src);
    await t.list.select(7000, true);
    expect(t.el.scrollTop).toBe(7001 * ROW_H - HEIGHT);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(7000)));
    await tick();
    expect(offsets(src.page).filter((o) => o === 7000)).toHaveLength(1);
    expect(t.selected()).toEqual(['n7000']);
  });

  test('a page already on its way is not requested twice', async () => {
    const t = setup();
    const src = gated(notes(10_000));
    const set = t.list.setSource(src);
    await src.release(0);
    await set;
    await t.scrollTo(5000 * ROW_H); // the view asks for pages 4900 and 5000
    const sel = t.list.select(5001, false); // needs page 5000 too
    expect(offsets(src.page)).toEqual([0, 4900, 5000]);
    await src.release(5000);
    await sel;
    await src.release(4900);
    expect(t.selected()).toEqual(['n5001']);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenLastCalledWith(note(5001)));
  });

  test('a later selection wins over one still waiting for its page', async () => {
    const t = setup();
    const src = gated(notes(10_000));
    const set = t.list.setSource(src);
    await src.release(0);
    await set;
    t.onSelect.mockClear();
    const first = t.list.select(7000, true);
    await t.list.select(3, true);
    await src.release(7000);
    await first;
    await sleep(80);
    expect(t.list.selectedIndex).toBe(3);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
    expect(t.onSelect).toHaveBeenCalledWith(note(3));
  });
});

describe('reloads', () => {
  /** 10,000 notes, then 3 newer ones on top: the list is newest first. */
  const before = notes(10_000);
  const after = [note(2, 'new'), note(1, 'new'), note(0, 'new'), ...before];

  test('rows arriving above move the scroll position by as many rows; the selection stays put', async () => {
    const t = setup();
    await t.start(paged(before));
    await t.scrollTo(5000 * ROW_H); // deep in the list: far from the pages loaded first
    await tick();
    t.rowEl(5002).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(5002)));
    const selEl = t.rowEl(5002);
    const onScreen = (/** @type {HTMLElement} */ r) =>
      parseFloat(r.style.transform.slice('translateY('.length)) - t.el.scrollTop;
    const yBefore = onScreen(selEl);

    const src = paged(after);
    await t.list.setSource(src, { keepPosition: true });

    expect(t.list.shifted).toBe(3);
    expect(t.el.scrollTop).toBe(5003 * ROW_H);
    expect(t.list.selectedIndex).toBe(5005);
    expect(t.rowEl(5005)).toBe(selEl); // the same element, moved with its note
    expect(selEl.textContent).toBe('n5002');
    expect(onScreen(selEl)).toBe(yBefore);
    expect(t.selected()).toEqual(['n5002']);
    expect(t.text(5003)).toBe('n5000'); // the top row is the note that was there
    expect(t.spacer.style.height).toBe(`${10_003 * ROW_H}px`);
    expect(offsets(src.page)).toEqual([4900, 5000]); // fresh pages, only where the view is
    await sleep(60);
    expect(t.onSelect).toHaveBeenCalledTimes(1); // the same note: the detail is not reloaded
  });

  test('a selected row scrolled out of view keeps its note when rows arrive above', async () => {
    const t = setup();
    await t.start(paged(before));
    await t.list.select(52, true);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(52)));
    await t.scrollTo(5000 * ROW_H);
    await tick();
    await t.list.setSource(paged(after), { keepPosition: true });
    expect(t.list.selectedIndex).toBe(55);
    expect(t.list.get(55)?.uuid).toBe('n52');
    expect(t.el.scrollTop).toBe(5003 * ROW_H); // not pulled back to the selection
    await sleep(60);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
  });

  test('at the top, not hovering and with nothing selected, new rows simply appear', async () => {
    const t = setup();
    await t.start(paged(before));
    await t.list.setSource(paged(after), { keepPosition: true });
    expect(t.list.shifted).toBe(0);
    expect(t.el.scrollTop).toBe(0);
    expect(t.text(0)).toBe('new2');
    expect(t.text(3)).toBe('n0');
  });

  test('at the top, the newest rows show there even with the pointer over the list and a note selected', async () => {
    const t = setup();
    await t.start(paged(before));
    t.el.dispatchEvent(new MouseEvent('mouseenter'));
    t.rowEl(2).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(2)));
    await t.list.setSource(paged(after), { keepPosition: true });
    expect(t.list.shifted).toBe(0); // nothing to announce: the new notes are in view
    expect(t.el.scrollTop).toBe(0);
    expect([t.text(0), t.text(1), t.text(2), t.text(3)]).toEqual(['new2', 'new1', 'new0', 'n0']);
    // The open note stays selected where it now is, and is not opened again.
    expect(t.list.selectedIndex).toBe(5);
    expect(t.selected()).toEqual(['n2']);
    await sleep(60);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
    // Once the person scrolls down, their place is kept (and the pill has something to say).
    await t.scrollTo(ROW_H);
    const more = [note(3, 'new'), ...after];
    await t.list.setSource(paged(more), { keepPosition: true });
    expect(t.list.shifted).toBe(1);
    expect(t.el.scrollTop).toBe(2 * ROW_H);
    expect(t.text(2)).toBe('new1'); // the top row in view is the note that was there
  });

  test('first view: the first notes after signing in (or at start) show newest at the top', async () => {
    const t = setup();
    // The inbox before the first sync: empty, the pointer where the sign-in button was.
    await t.start(paged([]));
    t.el.dispatchEvent(new MouseEvent('mouseenter'));
    const first = notes(60, 'first');
    await t.list.setSource(paged(first.slice(0, 30)), { keepPosition: true });
    // The catch-up goes on in more syncs (older notes below, newer ones on top).
    await t.list.setSource(paged([...notes(5, 'newer'), ...first]), { keepPosition: true });
    expect(t.el.scrollTop).toBe(0);
    expect(t.list.shifted).toBe(0);
    expect(t.text(0)).toBe('newer0');
    expect(t.indices()[0]).toBe(0);
    expect(t.list.selectedIndex).toBe(-1);
  });

  test('without keepPosition the scroll stays, and the selection follows its note', async () => {
    const t = setup();
    await t.start(paged(notes(20)));
    t.rowEl(5).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledTimes(1));
    // Two notes above it were moved out of this view.
    await t.list.setSource(paged(notes(20).slice(2)));
    expect(t.list.shifted).toBe(0);
    expect(t.list.selectedIndex).toBe(3);
    expect(t.selected()).toEqual(['n5']);
    await sleep(60);
    expect(t.onSelect).toHaveBeenCalledTimes(1);
  });

  test('when the selected note leaves the list, the next one takes its place', async () => {
    const t = setup();
    const data = notes(20);
    await t.start(paged(data));
    await t.list.select(5, true);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(5)));
    await t.list.setSource(paged(data.filter((n) => n.uuid !== 'n5')));
    expect(t.list.selectedIndex).toBe(5);
    expect(t.selected()).toEqual(['n6']);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenLastCalledWith(note(6)));
  });

  test('when the last note leaves, the new last one is selected', async () => {
    const t = setup();
    const data = notes(20);
    await t.start(paged(data));
    await t.list.select(19, true);
    await t.list.setSource(paged(data.slice(0, 19)));
    expect(t.list.selectedIndex).toBe(18);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenLastCalledWith(note(18)));
  });

  test('an emptied list clears the selection', async () => {
    const t = setup();
    await t.start(paged(notes(20)));
    await t.list.select(5, true);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(5)));
    await t.list.setSource(paged([]));
    expect(t.list.selectedIndex).toBe(-1);
    expect(t.onSelect).toHaveBeenLastCalledWith(null);
    expect(t.rows()).toEqual([]);
    expect(t.spacer.style.height).toBe('0px');
  });

  test('another source (a filter) starts at the top with nothing selected', async () => {
    const t = setup();
    await t.start(paged(notes(1000)));
    await t.scrollTo(300 * ROW_H);
    await t.list.select(305, true);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(305)));
    await t.list.setSource(paged(notes(500, 'r'), 'list|reviewed'), { keepPosition: true });
    expect(t.el.scrollTop).toBe(0);
    expect(t.list.selectedIndex).toBe(-1);
    expect(t.selected()).toEqual([]);
    expect(t.onSelect).toHaveBeenLastCalledWith(null);
    expect(t.text(0)).toBe('r0');
  });

  test('a selected note found in another source is followed and revealed', async () => {
    const t = setup();
    await t.start(paged(notes(100)));
    await t.list.select(40, true);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(note(40)));
    // e.g. a patient filter where that note is row 30
    await t.list.setSource({ key: 'patient|null|p1', load: async () => notes(100).slice(10) });
    expect(t.list.selectedIndex).toBe(30);
    expect(t.selected()).toEqual(['n40']);
    expect(t.el.scrollTop).toBeLessThanOrEqual(30 * ROW_H);
    expect(t.el.scrollTop + HEIGHT).toBeGreaterThanOrEqual(31 * ROW_H);
  });

  test('an older setSource that finishes late does not replace a newer one', async () => {
    const t = setup();
    /** @type {(rows: NoteRow[]) => void} */
    let finish = () => {};
    const slow = t.list.setSource({
      key: 'search|null|null|old',
      load: () => new Promise((r) => (finish = r)),
    });
    await t.list.setSource(paged(notes(50, 'cur')));
    finish(notes(3, 'old'));
    await slow;
    await tick();
    expect(t.list.total).toBe(50);
    expect(t.text(0)).toBe('cur0');
    expect(t.text(10)).toBe('cur10');
  });

  test('a page of the previous contents arriving late is dropped', async () => {
    const t = setup();
    const old = gated(notes(10_000, 'old'));
    const set = t.list.setSource(old);
    await old.release(0);
    await set;
    await t.scrollTo(5000 * ROW_H); // pages 4900 and 5000 of the old contents in flight
    const cur = paged(notes(10_000, 'cur'));
    await t.list.setSource(cur, { keepPosition: true });
    await old.release(4900);
    await old.release(5000);
    await tick();
    await t.scrollTo(5001 * ROW_H); // a re-render shows what the list holds
    expect(t.text(5000)).toBe('cur5000');
    expect(t.rows().every((r) => r.textContent?.startsWith('cur'))).toBe(true);
  });
});

describe('a page that fails to load', () => {
  test('stays a placeholder without retrying in a loop, and other pages still load', async () => {
    const t = setup();
    const src = paged(notes(10_000), 'list|null', { failOnce: [100] });
    await t.start(src);
    await t.scrollTo(100 * ROW_H); // rows 94..115: pages 0 (loaded) and 1 (fails)
    await tick();
    expect(t.text(99)).toBe('n99');
    expect(t.rowEl(100).classList.contains('placeholder')).toBe(true);
    const renders = t.renderRow.mock.calls.length;
    await sleep(30);
    expect(t.renderRow.mock.calls.length).toBe(renders); // no re-render spinning
    await t.scrollTo(101 * ROW_H);
    await t.scrollTo(102 * ROW_H);
    expect(offsets(src.page).filter((o) => o === 100)).toHaveLength(1);

    // The failure does not block the rest of the list.
    await t.scrollTo(5000 * ROW_H);
    await tick();
    expect(t.text(5000)).toBe('n5000');
  });

  test('is fetched again on the next reload', async () => {
    const t = setup();
    const src = paged(notes(10_000), 'list|null', { failOnce: [100] });
    await t.start(src);
    await t.scrollTo(100 * ROW_H);
    await tick();
    expect(t.rowEl(105).classList.contains('placeholder')).toBe(true);
    await t.list.setSource(src, { keepPosition: true });
    expect(offsets(src.page).filter((o) => o === 100)).toHaveLength(2);
    expect(t.text(105)).toBe('n105');
    expect(t.rows().some((r) => r.classList.contains('placeholder'))).toBe(false);
  });

  test('selecting a row on a failed page selects it with no note', async () => {
    const t = setup();
    const src = paged(notes(10_000), 'list|null', { failOnce: [7000] });
    await t.start(src);
    await t.list.select(7000, true);
    expect(t.list.selectedIndex).toBe(7000);
    expect(t.list.selectedUuid).toBe(null);
    await vi.waitFor(() => expect(t.onSelect).toHaveBeenCalledWith(null));
  });
});
