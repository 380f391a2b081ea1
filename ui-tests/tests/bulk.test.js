import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';

// ui/ipc.js takes hold of window.__TAURI_INTERNALS__ when it loads: mock it first.
mockIPC(() => {});
const bulk = await import('../../ui/bulk.js');
const { filterArgs, filterKey, fillSelect, clearFilters } = await import('../../ui/filters.js');
const { state } = await import('../../ui/state.js');

/** @typedef {import('../../ui/ipc.js').NoteRow} NoteRow */

/** @type {import('vitest').Mock} */
let handler;
/** @type {import('vitest').Mock} */
let onError;

/** The page as it ships (its body; no script runs). */
function page() {
  const html = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../ui/index.html'), 'utf8');
  const body = html.match(/<body>([^]*)<\/body>/)?.[1];
  if (!body) throw new Error('no body in index.html');
  document.body.innerHTML = body;
}

/** @param {number} i @returns {NoteRow} */
const row = (i) => ({
  uuid: `n-${i}`,
  patientName: i === 1 ? '<b>Ødegård</b>, Bjørn' : `Patient ${i}`,
  patientUuid: `p-${i}`,
  typeLabel: 'Referral letter',
  createdAt: '2026-03-01T10:00:00Z',
  status: 'new',
  verified: true,
});

/** A list of `n` notes standing in for the virtual list, with a row element each. */
function fakeList(n, total = n) {
  const rows = Array.from({ length: n }, (_, i) => row(i));
  const listEl = /** @type {HTMLElement} */ (document.getElementById('list'));
  for (let i = 0; i < Math.min(n, 20); i++) {
    const r = document.createElement('div');
    r.className = 'row';
    r.dataset.index = String(i);
    r.dataset.uuid = rows[i].uuid;
    listEl.appendChild(r);
  }
  return {
    total,
    selectedIndex: -1,
    get: (/** @type {number} */ i) => rows[i] ?? null,
    ensure: vi.fn(async () => true),
    render: vi.fn(),
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const text = (/** @type {string} */ id) => document.getElementById(id)?.textContent ?? '';
const hidden = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id)).hidden;
const click = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id)).click();
/** @param {number} i @param {MouseEventInit} mods */
function clickRow(i, mods = {}) {
  const r = document.querySelector(`.row[data-index="${i}"]`);
  r?.dispatchEvent(new MouseEvent('click', { bubbles: true, ...mods }));
}
const results = () =>
  [...document.querySelectorAll('#bulk-results-list li')].map((li) => /** @type {HTMLElement} */ (li).dataset.result);

beforeEach(() => {
  clearMocks();
  handler = vi.fn(() => null);
  mockIPC((cmd, args) => handler(cmd, args));
  page();
  state.selection.clear();
  state.bulkUndo = null;
  state.undo = null;
  onError = vi.fn();
});

describe('filters', () => {
  test('the commands get null with no filter, and the set values otherwise', () => {
    state.filters = { since: '', until: '', noteType: '', author: '' };
    expect(filterArgs()).toBeNull();
    state.filters = { since: '2026-03-01', until: '', noteType: 'referral_letter', author: '' };
    expect(filterArgs()).toEqual({ since: '2026-03-01', until: null, noteType: 'referral_letter', author: null, needsPatient: false });
    expect(filterKey()).toBe('2026-03-01||referral_letter|');
    // "Needs patient" is a filter too: alone, and combined with the others.
    expect(filterArgs(true)).toEqual({ since: '2026-03-01', until: null, noteType: 'referral_letter', author: null, needsPatient: true });
    state.filters = { since: '', until: '', noteType: '', author: '' };
    expect(filterArgs(true)).toEqual({ since: null, until: null, noteType: null, author: null, needsPatient: true });
  });

  test('choices are text, and the current one stays when no note has it any more', () => {
    const sel = /** @type {HTMLSelectElement} */ (document.getElementById('filter-type'));
    fillSelect(sel, 'All types', [['a', '<i>A</i>'], ['b', 'B']], 'gone');
    expect([...sel.options].map((o) => o.value)).toEqual(['', 'a', 'b', 'gone']);
    expect(sel.options[1].textContent).toBe('<i>A</i>');
    expect(sel.querySelector('i')).toBeNull();
    expect(sel.value).toBe('gone');
  });

  test('clearing (the idle lock) empties the choices and the values', () => {
    state.filters = { since: '2026-03-01', until: '2026-03-02', noteType: 'x', author: 'y' };
    fillSelect(/** @type {HTMLSelectElement} */ (document.getElementById('filter-author')), 'All authors', [['y', 'y']], 'y');
    clearFilters();
    expect(filterArgs()).toBeNull();
    expect(document.querySelectorAll('#filter-author option').length).toBe(0);
    expect(/** @type {HTMLInputElement} */ (document.getElementById('filter-since')).value).toBe('');
  });
});

describe('selecting', () => {
  test('ctrl-click toggles, shift-click ticks a range, a plain click is the list\'s', async () => {
    const list = fakeList(10);
    bulk.wireBulk(list, onError);
    const plain = vi.fn();
    document.getElementById('list')?.addEventListener('click', plain);
    clickRow(2, { ctrlKey: true });
    await flush();
    expect([...state.selection]).toEqual(['n-2']);
    expect(hidden('bulk-bar')).toBe(false);
    expect(text('bulk-count')).toBe('1 note selected');
    clickRow(5, { shiftKey: true });
    await flush();
    expect([...state.selection].sort()).toEqual(['n-2', 'n-3', 'n-4', 'n-5']);
    clickRow(3, { metaKey: true });
    await flush();
    expect(state.selection.has('n-3')).toBe(false);
    expect(plain).not.toHaveBeenCalled();
    clickRow(7);
    expect(plain).toHaveBeenCalledTimes(1);
    expect(state.selection.size).toBe(3);
    // The rows are drawn ticked.
    const el = document.createElement('div');
    bulk.markRow(el, row(4));
    expect(el.classList.contains('checked')).toBe(true);
    bulk.markRow(el, row(3));
    expect(el.classList.contains('checked')).toBe(false);
  });

  test('x toggles the focused row; a new view clears the ticks', async () => {
    const list = fakeList(4);
    bulk.wireBulk(list, onError);
    list.selectedIndex = 1;
    bulk.toggleFocused();
    expect([...state.selection]).toEqual(['n-1']);
    bulk.toggleFocused();
    expect(state.selection.size).toBe(0);
    bulk.toggleFocused();
    bulk.viewChanged('a');
    expect(state.selection.size).toBe(0);
    bulk.toggleFocused();
    bulk.viewChanged('a');
    expect(state.selection.size).toBe(1);
    expect(hidden('bulk-bar')).toBe(false);
  });

  test('select all takes the whole view, at most MAX', async () => {
    let list = fakeList(50);
    bulk.wireBulk(list, onError);
    click('btn-select-all');
    await flush();
    expect(state.selection.size).toBe(50);
    expect(list.ensure).toHaveBeenCalledWith([0, 50]);
    expect(text('bulk-count')).toBe('50 notes selected');
    state.selection.clear();
    list = fakeList(bulk.MAX + 5, bulk.MAX + 5);
    bulk.wireBulk(list, onError);
    await bulk.selectAll();
    expect(state.selection.size).toBe(bulk.MAX);
    expect(text('bulk-count')).toContain(`the first ${bulk.MAX} of ${bulk.MAX + 5}`);
  });
});

describe('actions', () => {
  test('Reviewed: one command for every ticked note, one result line each', async () => {
    bulk.wireBulk(fakeList(3), onError);
    await bulk.selectAll();
    handler.mockImplementation((cmd, args) =>
      cmd === 'set_statuses'
        ? args.uuids.map((/** @type {string} */ uuid, /** @type {number} */ i) =>
            i === 2
              ? { uuid, from: 'imported', changed: false, error: { code: 'invalid_transition', message: 'already imported' } }
              : { uuid, from: 'new', changed: true, error: null },
          )
        : null,
    );
    click('bulk-review');
    await flush();
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith('set_statuses', { uuids: ['n-0', 'n-1', 'n-2'], status: 'reviewed' });
    expect(results()).toEqual(['reviewed', 'reviewed', 'error']);
    expect(text('bulk-results-title')).toBe('Mark reviewed: 2 reviewed, 1 error');
    // Names are text: markup in one shows as its characters.
    const first = document.querySelector('#bulk-results-list li[data-uuid="n-1"] .name');
    expect(first?.textContent).toBe('<b>Ødegård</b>, Bjørn');
    expect(document.querySelector('#bulk-results-list b')).toBeNull();
    expect(state.selection.size).toBe(0);
    expect(hidden('bulk-bar')).toBe(true);
    expect(hidden('toast')).toBe(true);
  });

  test('Dismiss offers one undo that restores each note\'s own status', async () => {
    bulk.wireBulk(fakeList(3), onError);
    await bulk.selectAll();
    const from = ['new', 'reviewed', 'new'];
    handler.mockImplementation((cmd, args) =>
      cmd === 'set_statuses'
        ? args.uuids.map((/** @type {string} */ uuid) => ({
            uuid,
            from: args.status === 'dismissed' ? from[Number(uuid.slice(2))] : 'dismissed',
            changed: true,
            error: null,
          }))
        : null,
    );
    click('bulk-dismiss');
    await flush();
    expect(text('toast-text')).toBe('3 notes dismissed.');
    expect(hidden('toast')).toBe(false);
    handler.mockClear();
    click('undo');
    await flush();
    await flush();
    expect(handler.mock.calls).toEqual([
      ['set_statuses', { uuids: ['n-0', 'n-2'], status: 'new' }],
      ['set_statuses', { uuids: ['n-1'], status: 'reviewed' }],
    ]);
    expect(hidden('toast')).toBe(true);
    // Once only.
    handler.mockClear();
    await bulk.undoBulk();
    expect(handler).not.toHaveBeenCalled();
  });

  test('Import asks once, naming how many and where, then shows each note\'s result', async () => {
    state.status = /** @type {any} */ ({ target: 'sqlite:/srv/practice.db' });
    bulk.wireBulk(fakeList(4), onError);
    await bulk.selectAll();
    click('bulk-import');
    expect(hidden('bulk-confirm')).toBe(false);
    expect(text('bulk-confirm-text')).toContain('Import 4 notes into sqlite:/srv/practice.db?');
    expect(handler).not.toHaveBeenCalled();
    // Cancel writes nothing.
    click('bulk-confirm-cancel');
    expect(hidden('bulk-confirm')).toBe(true);
    expect(handler).not.toHaveBeenCalled();
    const answer = ['imported', 'unchanged', 'conflict', 'error'];
    handler.mockImplementation((cmd, args) =>
      cmd === 'import_notes'
        ? args.uuids.map((/** @type {string} */ uuid, /** @type {number} */ i) => ({
            uuid,
            result: answer[i],
            target: 'sqlite:/srv/practice.db',
            importedAt: null,
            importedBy: i === 1 || i === 2 ? 'askara:kari@example.test' : null,
            error: i === 3 ? { code: 'unreachable', message: 'the practice database did not answer' } : null,
            conflict: i === 2 ? 'content' : null,
            heldPatient: null,
          }))
        : null,
    );
    click('bulk-import');
    click('bulk-confirm-ok');
    await flush();
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith('import_notes', { uuids: ['n-0', 'n-1', 'n-2', 'n-3'] });
    expect(results()).toEqual(['imported', 'unchanged', 'conflict', 'error']);
    expect(text('bulk-results-title')).toBe('Import: 1 imported, 1 unchanged, 1 conflict, 1 error');
    const why = [...document.querySelectorAll('#bulk-results-list li .muted')].map((e) => e.textContent);
    expect(why[1]).toContain('askara:kari@example.test');
    expect(why[3]).toBe('the practice database did not answer');
  });

  test('a command that fails says so and keeps the ticks', async () => {
    bulk.wireBulk(fakeList(2), onError);
    await bulk.selectAll();
    handler.mockImplementation(() => {
      throw { code: 'locked', message: 'locked' };
    });
    click('bulk-review');
    await flush();
    expect(onError).toHaveBeenCalledWith({ code: 'locked', message: 'locked' });
    expect(state.selection.size).toBe(2);
  });

  test('clearing (the idle lock) leaves no name or tick in the page', async () => {
    bulk.wireBulk(fakeList(2), onError);
    await bulk.selectAll();
    bulk.showResults('Import', [{ uuid: 'n-1', result: 'imported', message: '' }], new Map([['n-1', 'Ødegård, Bjørn']]));
    bulk.clearBulk();
    expect(state.selection.size).toBe(0);
    expect(hidden('bulk-results')).toBe(true);
    expect(document.getElementById('bulk-results-list')?.children.length).toBe(0);
    expect(hidden('bulk-bar')).toBe(true);
  });
});

test('a note filed under another patient says so, with the patient held, never "unchanged"', () => {
  const base = { uuid: 'n-9', target: 'sqlite:/p.db', importedAt: null, importedBy: 'askara:kari@example.test', error: null };
  const held = bulk.importOutcome(/** @type {any} */ ({ ...base, result: 'conflict', conflict: 'patient', heldPatient: '4412' }));
  expect(held.result).toBe('conflict');
  expect(held.message).toContain('under another patient (4412)');
  const revised = bulk.importOutcome(/** @type {any} */ ({ ...base, result: 'conflict', conflict: 'content', heldPatient: null }));
  expect(revised.message).toContain('earlier version');
});
