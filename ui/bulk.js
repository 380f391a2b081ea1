// @ts-check
// Acting on many notes at once. Ticking: ctrl/cmd-click toggles a row, shift-click ticks the
// range from the last one ticked (or the focused row), `x` toggles the focused row, "Select
// all" ticks every note in view (the list as filtered, at most MAX). Then one action: Reviewed,
// Dismiss (Undo restores each note's previous status) or Import (one confirmation naming how
// many notes and where; then one result per note). Names are set as text, never HTML.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').NoteRow} NoteRow */
/** @typedef {import('./ipc.js').Status} Status */
/** @typedef {import('./ipc.js').CmdError} CmdError */
/** @typedef {import('./ipc.js').ImportView} ImportView */
/** @typedef {import('./ipc.js').BulkStatusView} BulkStatusView */
/**
 * What the bulk list needs of the virtual list.
 * @typedef {{total: number, selectedIndex: number, get: (i: number) => NoteRow|null,
 *   ensure: (range: [number, number]) => Promise<boolean>, render: () => void}} ListView
 */
/** One line of the results: the note, what happened, and why in words. @typedef {{uuid: string, result: string, message: string}} Outcome */

/** Most notes one action takes: "Select all" on a longer list ticks the first MAX. */
export const MAX = 1000;

const $ = (/** @type {string} */ id) => el(id);

/** @type {ListView|null} */
let list = null;
/** Where a shift-click range starts: the row last ticked. */
let anchor = -1;
/** The list source the selection was made in: a new one clears it. */
let viewKey = '';
let busy = false;
/** Where an action's failure is said (the status strip). @type {(e: CmdError) => void} */
let showError = () => {};

/** @param {ListView} theList @param {(e: CmdError) => void} onError */
export function wireBulk(theList, onError) {
  list = theList;
  showError = onError;
  anchor = -1;
  viewKey = '';
  // Capturing, so a click with a modifier ticks instead of opening the note (list.js).
  $('list').addEventListener('click', onClick, { capture: true });
  $('btn-select-all').addEventListener('click', () => selectAll());
  $('bulk-clear').addEventListener('click', clearSelection);
  $('bulk-review').addEventListener('click', () => bulkStatus('reviewed'));
  $('bulk-dismiss').addEventListener('click', () => bulkStatus('dismissed'));
  $('bulk-import').addEventListener('click', confirmImport);
  $('bulk-confirm-ok').addEventListener('click', runImport);
  $('bulk-confirm-cancel').addEventListener('click', closeConfirm);
  // The dialog's keys stay in it (r, d, i… are the note's shortcuts behind it).
  $('bulk-confirm').addEventListener('keydown', (e) => {
    e.stopPropagation();
    if (e.key === 'Escape') closeConfirm();
  });
  $('bulk-results-close').addEventListener('click', () => {
    $('bulk-results').hidden = true;
    $('bulk-results-list').replaceChildren();
  });
  $('undo').addEventListener('click', undoBulk);
}

/** Marks a row ticked or not (called for every row the list draws). @param {HTMLElement} row @param {NoteRow|null} note */
export function markRow(row, note) {
  const on = !!note && state.selection.has(note.uuid);
  row.classList.toggle('checked', on);
  row.setAttribute('aria-checked', String(on));
}

/** The list shows another source (filter, search, patient): the ticks go. @param {string} key */
export function viewChanged(key) {
  if (key !== viewKey) {
    viewKey = key;
    if (state.selection.size) clearSelection();
  }
}

export function clearSelection() {
  state.selection.clear();
  anchor = -1;
  update();
}

/** `x`: toggles the focused row. */
export function toggleFocused() {
  if (!list || list.selectedIndex < 0) return;
  toggle(list.selectedIndex);
}

/** @param {number} i */
function toggle(i) {
  const row = list?.get(i);
  if (!row) return;
  if (state.selection.has(row.uuid)) state.selection.delete(row.uuid);
  else state.selection.add(row.uuid);
  anchor = i;
  update();
}

/** @param {Event} e */
async function onClick(e) {
  const m = /** @type {MouseEvent} */ (e);
  if (!(m.shiftKey || m.ctrlKey || m.metaKey) || !list) return;
  const rowEl = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest('.row'));
  const i = rowEl ? Number(rowEl.dataset.index) : NaN;
  if (Number.isNaN(i)) return;
  e.preventDefault();
  e.stopPropagation();
  const from = anchor >= 0 ? anchor : list.selectedIndex;
  if (!m.shiftKey || from < 0) {
    toggle(i);
    return;
  }
  const [lo, hi] = from < i ? [from, i] : [i, from];
  await list.ensure([lo, hi + 1]);
  for (let j = lo; j <= hi && state.selection.size < MAX; j++) {
    const row = list.get(j);
    if (row) state.selection.add(row.uuid);
  }
  anchor = i;
  update();
}

/** Ticks every note in view (the first MAX of a longer list, and says so). */
export async function selectAll() {
  if (!list) return;
  const n = Math.min(list.total, MAX);
  await list.ensure([0, n]);
  for (let i = 0; i < n; i++) {
    const row = list.get(i);
    if (row) state.selection.add(row.uuid);
  }
  update(list.total > MAX ? `the first ${MAX} of ${list.total}` : '');
}

/** The bulk bar and the ticks as they are now. @param {string} [note] */
function update(note = '') {
  const n = state.selection.size;
  $('bulk-bar').hidden = n === 0;
  $('bulk-count').textContent = n ? `${n} note${n === 1 ? '' : 's'} selected${note ? ` (${note})` : ''}` : '';
  for (const id of ['bulk-review', 'bulk-dismiss', 'bulk-import']) el(id, HTMLButtonElement).disabled = busy || n === 0;
  list?.render();
}

/** The patient names of the notes in view, for the results (read before the list reloads). */
function namesInView() {
  /** @type {Map<string, string>} */
  const names = new Map();
  if (!list) return names;
  for (let i = 0; i < list.total; i++) {
    const row = list.get(i);
    if (row && state.selection.has(row.uuid)) names.set(row.uuid, row.patientName);
  }
  return names;
}

/** @param {boolean} on */
function setBusy(on) {
  busy = on;
  update();
}

/** Reviewed or dismissed, every ticked note in one action. @param {Status} to */
async function bulkStatus(to) {
  const uuids = [...state.selection];
  if (!uuids.length || busy) return;
  const names = namesInView();
  setBusy(true);
  try {
    const results = await ipc.setStatuses(uuids, to);
    showResults(to === 'dismissed' ? 'Dismiss' : 'Mark reviewed', results.map((r) => statusOutcome(r, to)), names);
    if (to === 'dismissed') {
      const moved = results.filter((r) => r.changed && r.from).map((r) => ({ uuid: r.uuid, from: /** @type {Status} */ (r.from) }));
      if (moved.length) offerBulkUndo(moved);
    }
    state.selection.clear();
    anchor = -1;
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  } finally {
    setBusy(false);
  }
}

/** @param {BulkStatusView} r @param {Status} to @returns {Outcome} */
export function statusOutcome(r, to) {
  if (r.error) return { uuid: r.uuid, result: 'error', message: r.error.message };
  if (!r.changed) return { uuid: r.uuid, result: 'unchanged', message: `already ${to}` };
  return { uuid: r.uuid, result: to, message: `was ${r.from}` };
}

/** The Undo toast for a bulk dismissal. @param {{uuid: string, from: Status}[]} moved */
function offerBulkUndo(moved) {
  state.undo = null;
  state.bulkUndo = moved;
  $('toast-text').textContent = `${moved.length} note${moved.length === 1 ? '' : 's'} dismissed.`;
  $('toast').hidden = false;
  clearTimeout(state.undoTimer);
  state.undoTimer = window.setTimeout(() => {
    $('toast').hidden = true;
    state.bulkUndo = null;
  }, 10000);
}

/** Undo of a bulk dismissal: each note back to the status it had, one action per status. */
export async function undoBulk() {
  const moved = state.bulkUndo;
  if (!moved) return;
  state.bulkUndo = null;
  $('toast').hidden = true;
  /** @type {Map<Status, string[]>} */
  const byStatus = new Map();
  for (const m of moved) byStatus.set(m.from, [...(byStatus.get(m.from) ?? []), m.uuid]);
  try {
    /** @type {Outcome[]} */
    const failed = [];
    for (const [from, uuids] of byStatus) {
      const results = await ipc.setStatuses(uuids, from);
      failed.push(...results.filter((r) => r.error).map((r) => statusOutcome(r, from)));
    }
    if (failed.length) showResults('Undo', failed, new Map());
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
}

function confirmImport() {
  const n = state.selection.size;
  if (!n || busy) return;
  const target = state.status?.target || 'the practice database (none is set: see Settings)';
  $('bulk-confirm-text').textContent = `Import ${n} note${n === 1 ? '' : 's'} into ${target}? Each note is written once; a note already there is left unchanged.`;
  $('bulk-confirm-ok').textContent = `Import ${n} note${n === 1 ? '' : 's'}`;
  $('bulk-confirm').hidden = false;
  $('bulk-confirm-ok').focus();
}

function closeConfirm() {
  $('bulk-confirm').hidden = true;
  $('list').focus();
}

async function runImport() {
  $('bulk-confirm').hidden = true;
  const uuids = [...state.selection];
  if (!uuids.length || busy) return;
  const names = namesInView();
  setBusy(true);
  showResults('Import', [], names, `Importing ${uuids.length} notes…`);
  try {
    const results = await ipc.importNotes(uuids);
    showResults('Import', results.map(importOutcome), names);
    state.selection.clear();
    anchor = -1;
  } catch (e) {
    $('bulk-results').hidden = true;
    showError(/** @type {CmdError} */ (e));
  } finally {
    setBusy(false);
    $('list').focus();
  }
}

/** @param {ImportView} v @returns {Outcome} */
export function importOutcome(v) {
  const by = v.importedBy ?? 'someone';
  switch (v.result) {
    case 'imported':
    case 'updated':
      return { uuid: v.uuid, result: v.result, message: `into ${v.target}` };
    case 'unchanged':
      return { uuid: v.uuid, result: 'unchanged', message: `already in ${v.target}, imported by ${by}` };
    case 'conflict':
      if (v.conflict === 'patient') {
        return { uuid: v.uuid, result: 'conflict', message: `already in ${v.target} under another patient (${v.heldPatient ?? 'none'}), imported by ${by}; open the note to check` };
      }
      return { uuid: v.uuid, result: 'conflict', message: `${by} imported an earlier version; open the note to overwrite it` };
    default:
      return { uuid: v.uuid, result: 'error', message: v.error?.message ?? 'unknown error' };
  }
}

/**
 * The results panel: a summary line, then one line per note (name, result, why).
 * @param {string} action @param {Outcome[]} outcomes @param {Map<string, string>} names @param {string} [pending]
 */
export function showResults(action, outcomes, names, pending = '') {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const o of outcomes) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
  const summary = [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
  $('bulk-results-title').textContent = pending || `${action}: ${summary || 'nothing to do'}`;
  $('bulk-results').dataset.action = pending ? '' : action;
  $('bulk-results-list').replaceChildren(
    ...outcomes.map((o) => {
      const li = document.createElement('li');
      li.dataset.uuid = o.uuid;
      li.dataset.result = o.result;
      li.className = `bulk-${o.result}`;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = names.get(o.uuid) || o.uuid;
      const result = document.createElement('span');
      result.className = 'result-word';
      result.textContent = o.result;
      const why = document.createElement('span');
      why.className = 'muted';
      why.textContent = o.message;
      li.append(name, result, why);
      return li;
    }),
  );
  $('bulk-results').hidden = false;
}

/** Nothing of a selection or its results stays in the page (the idle lock). */
export function clearBulk() {
  state.selection.clear();
  state.bulkUndo = null;
  anchor = -1;
  viewKey = '';
  $('bulk-bar').hidden = true;
  $('bulk-count').textContent = '';
  $('bulk-confirm').hidden = true;
  $('bulk-confirm-text').textContent = '';
  $('bulk-results').hidden = true;
  $('bulk-results-title').textContent = '';
  $('bulk-results-list').replaceChildren();
}
