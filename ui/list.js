// @ts-check
// A virtualised list of fixed-height rows: only the rows in view exist in the DOM, and pages
// of rows are fetched as they scroll into view, so 10,000+ notes scroll like 10. When notes
// arrive above what a person scrolled down to, the scroll position moves by as many rows, so
// nothing moves under the cursor; at the top, the newest notes show.

/** @typedef {import('./ipc.js').NoteRow} NoteRow */
/**
 * @typedef {{key: string, load?: () => Promise<NoteRow[]>, total?: () => number,
 *   page?: (offset: number) => Promise<NoteRow[]>}} Source
 */

const OVERSCAN = 6;

export class VirtualList {
  /**
   * @param {HTMLElement} el the scrolling container
   * @param {HTMLElement} spacer sets the scroll height
   * @param {(el: HTMLElement, row: NoteRow|null) => void} renderRow
   * @param {(row: NoteRow|null) => void} onSelect
   */
  constructor(el, spacer, renderRow, onSelect) {
    this.el = el;
    this.spacer = spacer;
    this.renderRow = renderRow;
    this.onSelect = onSelect;
    this.rowH = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-h')) || 40;
    /** @type {Source|null} */ this.src = null;
    this.total = 0;
    this.pageSize = 100;
    /** @type {NoteRow[]|null} */ this.rows = null;
    /** @type {Map<number, NoteRow[]>} */ this.pages = new Map();
    /** @type {Map<number, Promise<boolean>>} */ this.loading = new Map();
    /** @type {Set<number>} */ this.failed = new Set();
    /** @type {Map<number, HTMLElement>} */ this.els = new Map();
    this.generation = 0;
    this.selectedIndex = -1;
    /** @type {string|null} */ this.selectedUuid = null;
    this.shifted = 0;
    this.fetching = false;
    /** @type {number|undefined} */ this.selectTimer = undefined;
    el.addEventListener('scroll', () => this.render());
    el.addEventListener('click', (e) => {
      const row = /** @type {HTMLElement} */ (e.target).closest('.row');
      const i = row ? Number(/** @type {HTMLElement} */ (row).dataset.index) : NaN;
      if (!Number.isNaN(i)) this.select(i, false);
    });
    new ResizeObserver(() => this.render()).observe(el);
  }

  /** @param {number} i @returns {NoteRow|null} */
  get(i) {
    if (this.rows) return this.rows[i] ?? null;
    return this.pages.get(Math.floor(i / this.pageSize))?.[i % this.pageSize] ?? null;
  }

  /**
   * @param {Source} src
   * @param {{keepPosition?: boolean, pageSize?: number}} [opts]
   */
  async setSource(src, opts = {}) {
    const sameKey = this.src?.key === src.key;
    const oldTotal = this.total;
    const gen = ++this.generation;
    this.pageSize = opts.pageSize ?? 100;
    /** @type {NoteRow[]|null} */
    let rows = null;
    let total = 0;
    if (src.load) {
      rows = await src.load();
      total = rows.length;
    } else {
      total = src.total ? src.total() : 0;
    }
    if (gen !== this.generation) return;
    this.src = src;
    this.rows = rows;
    this.pages = new Map();
    this.loading = new Map();
    this.failed = new Set();
    this.total = total;
    this.shifted = 0;
    this.spacer.style.height = `${total * this.rowH}px`;
    if (!sameKey) {
      this.el.scrollTop = 0;
      this.selectedIndex = -1;
    } else if (opts.keepPosition && !rows) {
      const delta = total - oldTotal;
      // Notes arrive at the top (newest first). Someone who scrolled down keeps their place;
      // at the top (after signing in, at every start, whenever nobody scrolled) the newest
      // notes simply appear there, whatever the pointer or the selection.
      if (delta > 0 && this.el.scrollTop > 0) {
        this.shifted = delta;
        // The rows on screen keep their notes: move them down by `delta` first, so the page
        // shows the same notes in the same places while the new rows load.
        const moved = new Map();
        for (const [i, el] of this.els) {
          el.dataset.index = String(i + delta);
          el.style.transform = `translateY(${(i + delta) * this.rowH}px)`;
          moved.set(i + delta, el);
        }
        this.els = moved;
        this.el.scrollTop += delta * this.rowH;
      }
      // The selected note moved down as many rows, in view or not: the selection follows it.
      if (delta > 0 && this.selectedIndex >= 0) this.selectedIndex += delta;
    }
    await this.ensure(this.visibleRange());
    if (this.selectedIndex >= 0) await this.ensure([this.selectedIndex, this.selectedIndex + 1]);
    if (gen !== this.generation) return;
    this.reconcileSelection(sameKey);
    this.render();
  }

  /** After a reload: follow the selected note, else keep its place (the next note). */
  reconcileSelection(/** @type {boolean} */ sameKey) {
    if (this.selectedUuid) {
      const at = this.get(this.selectedIndex);
      if (at?.uuid === this.selectedUuid) return;
      for (let i = 0; i < this.total; i++) {
        const r = this.get(i);
        if (r?.uuid === this.selectedUuid) {
          this.selectedIndex = i;
          if (!sameKey) this.reveal(i);
          return;
        }
        if (!r && !this.rows) break;
      }
    }
    if (sameKey && this.selectedIndex >= 0 && this.total > 0) {
      this.select(Math.min(this.selectedIndex, this.total - 1), true);
    } else if (!sameKey || this.total === 0) {
      this.selectedIndex = -1;
      this.selectedUuid = null;
      this.onSelect(null);
    }
  }

  /** @returns {[number, number]} */
  visibleRange() {
    const top = this.el.scrollTop;
    const h = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / this.rowH) - OVERSCAN);
    const last = Math.min(this.total, Math.ceil((top + h) / this.rowH) + OVERSCAN);
    return [first, last];
  }

  /**
   * Fetches the pages covering [from, to); resolves once they are in, to whether any page
   * arrived (a failed page stays missing until the next reload, never retried in a loop).
   * @param {[number, number]} range
   * @returns {Promise<boolean>}
   */
  async ensure([from, to]) {
    const src = this.src;
    if (this.rows || !src?.page || to <= from) return false;
    const gen = this.generation;
    /** @type {Promise<boolean>[]} */
    const waits = [];
    for (let p = Math.floor(from / this.pageSize); p <= Math.floor((to - 1) / this.pageSize); p++) {
      if (this.pages.has(p) || this.failed.has(p)) continue;
      let pending = this.loading.get(p);
      if (!pending) {
        const page = /** @type {NonNullable<Source['page']>} */ (src.page);
        pending = page(p * this.pageSize).then(
          (rows) => {
            if (gen !== this.generation) return false;
            this.pages.set(p, rows);
            return true;
          },
          () => {
            if (gen === this.generation) this.failed.add(p);
            return false;
          },
        );
        this.loading.set(p, pending);
        pending.finally(() => this.loading.delete(p));
      }
      waits.push(pending);
    }
    const loaded = await Promise.all(waits);
    return loaded.some(Boolean);
  }

  render() {
    const [first, last] = this.visibleRange();
    for (const [i, el] of this.els) {
      if (i < first || i >= last) {
        el.remove();
        this.els.delete(i);
      }
    }
    let missing = false;
    for (let i = first; i < last; i++) {
      let el = this.els.get(i);
      if (!el) {
        el = document.createElement('div');
        el.dataset.index = String(i);
        el.style.transform = `translateY(${i * this.rowH}px)`;
        this.el.appendChild(el);
        this.els.set(i, el);
      }
      const row = this.get(i);
      if (!row) missing = true;
      this.renderRow(el, row);
      el.classList.toggle('selected', i === this.selectedIndex);
      el.setAttribute('aria-selected', String(i === this.selectedIndex));
    }
    if (missing && !this.fetching) {
      // One fetch at a time, and a re-render only when a page arrived: re-rendering at once
      // would spin in microtasks and starve the page.
      const gen = this.generation;
      this.fetching = true;
      this.ensure([first, last]).then((loaded) => {
        this.fetching = false;
        if (gen !== this.generation) return;
        // Scrolled elsewhere while this fetch ran (and it may have failed): fetch what is in
        // view now. The range check stops this from looping.
        const [f, l] = this.visibleRange();
        if (loaded || f !== first || l !== last) this.render();
      });
    }
  }

  /** @param {number} d */
  move(d) {
    if (this.total === 0) return;
    const i = this.selectedIndex < 0 ? 0 : Math.max(0, Math.min(this.total - 1, this.selectedIndex + d));
    this.select(i, true);
  }

  /** Scrolls row `i` into view, as little as needed. @param {number} i */
  reveal(i) {
    const top = i * this.rowH;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + this.rowH > this.el.scrollTop + this.el.clientHeight) {
      this.el.scrollTop = top + this.rowH - this.el.clientHeight;
    }
  }

  /** @param {number} i @param {boolean} reveal */
  async select(i, reveal) {
    this.selectedIndex = i;
    if (reveal) this.reveal(i);
    if (!this.get(i)) await this.ensure([i, i + 1]);
    if (this.selectedIndex !== i) return;
    const row = this.get(i);
    this.selectedUuid = row?.uuid ?? null;
    this.render();
    clearTimeout(this.selectTimer);
    // Holding j down moves through the list without loading every note on the way.
    this.selectTimer = window.setTimeout(() => this.onSelect(row), 40);
  }

  scrollToTop() {
    this.el.scrollTop = 0;
  }

  /**
   * Forgets every row and removes their elements (the idle lock): nothing of a note stays in
   * the page or in memory, and pages still on their way are dropped when they arrive.
   */
  clear() {
    this.generation++;
    clearTimeout(this.selectTimer);
    this.src = null;
    this.rows = null;
    this.pages = new Map();
    this.loading = new Map();
    this.failed = new Set();
    this.total = 0;
    this.shifted = 0;
    this.selectedIndex = -1;
    this.selectedUuid = null;
    for (const el of this.els.values()) el.remove();
    this.els = new Map();
    this.spacer.style.height = '0px';
    this.el.scrollTop = 0;
  }
}
