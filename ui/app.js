// @ts-check
// The inbox UI. Plain ES module, no framework, no build step. Note data is only ever put into
// the page with `textContent`: note content and names are text, never HTML.
import { ipc, listen, startEvents } from './ipc.js';
import { VirtualList } from './list.js';
import { fmtWhen } from './format.js';
import { setParts } from './text.js';
import { el } from './dom.js';
import { state } from './state.js';
import { startSignIn, signInFailed, resetSignIn } from './signin.js';
import { openSettings, wireSettings } from './settings.js';
import { showNote, showImport, toggleVersions, setStatus, undo, doImport, showError, clearNote } from './pane.js';
import { noteActivity, renderLock, resetLockScreen, openPinSetup, wireLock } from './lock.js';
import { wireReading, noteBody } from './reading.js';
import { refreshCounts, refreshPatients, choosePatient, renderStatus, onStatus, updateScreens } from './strip.js';
import { filterArgs, filterKey, refreshFacets, wireFilters, clearFilters } from './filters.js';
import { wireBulk, markRow, viewChanged, toggleFocused, clearSelection, undoBulk, clearBulk } from './bulk.js';
import { renderIds, NEEDS_PATIENT } from './patients.js';
import { wireAssign, clearAssign, pickerOpen } from './assign.js';

/** @typedef {import('./ipc.js').NoteRow} NoteRow */
/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').Status} Status */
/** @typedef {import('./ipc.js').StatusView} StatusView */
/** @typedef {import('./ipc.js').CmdError} CmdError */
/** @typedef {import('./ipc.js').LockView} LockView */

/** An element by id (see dom.js for typed kinds). @param {string} id */
const $ = (id) => el(id);

const PAGE = 100;
// Search results shown at most (newest first): enough to scan, small enough to come back
// within a keystroke; more typing narrows them.
const SEARCH_LIMIT = 200;
// A filtered list (dates, type, author) comes whole, as a patient's does, up to this many.
const FILTER_LIMIT = 1000;


// ------------------------------------------------------------------------------------------
// The list

const list = new VirtualList($('list'), $('list-spacer'), renderRow, onSelect);

/** @param {HTMLElement} el @param {NoteRow|null} row */
function renderRow(el, row) {
  if (!el.firstChild) {
    for (const cls of ['mark', 'name', 'ids', 'type', 'when']) {
      const s = document.createElement('span');
      s.className = cls;
      el.appendChild(s);
    }
  }
  const [mark, name, ids, type, when] = /** @type {HTMLElement[]} */ (Array.from(el.children));
  renderIds(ids, row);
  if (!row) {
    el.className = 'row placeholder';
    el.dataset.uuid = '';
    name.textContent = '…';
    type.textContent = '';
    when.textContent = '';
    return;
  }
  el.className = `row status-${row.status}${row.verified ? '' : ' unverified'}`;
  el.dataset.uuid = row.uuid;
  markRow(el, row);
  el.setAttribute('role', 'option');
  mark.title = row.verified ? row.status : `${row.status}, unverified`;
  if (row.nameParts) setParts(name, row.nameParts);
  else name.textContent = row.patientName;
  // A search result shows where the content matched in place of the note type.
  if (row.snippet) setParts(type, row.snippet);
  else type.textContent = row.typeLabel;
  type.title = row.snippet ? row.typeLabel : '';
  when.textContent = fmtWhen(row.createdAt);
}

/** The list's source for the current filter, patient and search text. */
function source() {
  const needs = state.filter === NEEDS_PATIENT;
  const status = state.filter === 'all' || state.filter === 'needs-patient' ? null : state.filter;
  const patient = state.patient?.uuid ?? null;
  const text = state.search.trim();
  // "Needs patient" is a filter like the others: search, patient, dates, type and author
  // narrow it further, never widen it to every note.
  const filter = filterArgs(needs);
  const fk = `${filterKey()}|${needs}`;
  if (text) {
    return {
      key: `search|${status}|${patient}|${fk}|${text}`,
      load: async () => ipc.searchNotes({ text, status, patient, filter, limit: SEARCH_LIMIT }),
    };
  }
  if (patient || filter) {
    return {
      key: `patient|${status}|${patient}|${fk}`,
      load: async () => ipc.listNotes({ status, patient, filter, offset: 0, limit: FILTER_LIMIT }),
    };
  }
  return {
    key: `list|${status}`,
    total: () => (state.counts ? state.counts[status ?? 'all'] : 0),
    page: (/** @type {number} */ offset) => ipc.listNotes({ status, patient: null, offset, limit: PAGE }),
  };
}

export async function reloadList(reason = 'filter') {
  if (state.lock?.locked) return;
  const src = source();
  const arrived = reason === 'sync';
  await list.setSource(src, { keepPosition: arrived, pageSize: PAGE });
  if (state.lock?.locked) return;
  viewChanged(src.key);
  // Which search the rows are for (typing runs several); tests wait on it.
  $('list').dataset.query = state.search.trim();
  const pill = $('new-pill');
  if (arrived && list.shifted > 0) {
    pill.textContent = `↑ ${list.shifted} new`;
    pill.hidden = false;
  }
  const empty = $('list-empty');
  empty.hidden = list.total > 0;
  empty.textContent = state.search.trim()
    ? 'No note matches. Search ignores accents and case: “odegard” finds Ødegård.'
    : 'No notes here.';
  const title = state.search.trim()
    ? `${list.total}${list.total >= SEARCH_LIMIT ? '+' : ''} found`
    : `${labelOf(state.filter)}${state.patient ? ` · ${state.patient.name}` : ''}`;
  const filtered = !state.search.trim() && filterArgs() && state.filter !== NEEDS_PATIENT
    ? ` · ${list.total}${list.total >= FILTER_LIMIT ? '+' : ''} filtered`
    : '';
  $('list-title').textContent = title + filtered;
  $('patient-clear').hidden = !state.patient;
}

/** @param {string} f */
function labelOf(f) {
  if (f === NEEDS_PATIENT) return 'Needs patient';
  return f === 'all' ? 'All notes' : f[0].toUpperCase() + f.slice(1);
}

/** @param {NoteRow|null} row */
async function onSelect(row) {
  if (!row) {
    showNote(null);
    return;
  }
  try {
    const note = await ipc.getNote(row.uuid, state.search.trim() || null);
    if (list.selectedUuid === row.uuid) showNote(note);
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
}

// ------------------------------------------------------------------------------------------
// Keyboard: j/k or arrows, Enter, r, i, d, u (undo), /, Escape.

/** @param {KeyboardEvent} e */
function onKey(e) {
  if ($('app').hidden || !$('settings').hidden || !$('pin-setup').hidden || state.lock?.locked) return;
  if (pickerOpen()) return;
  const t = /** @type {HTMLElement} */ (e.target);
  // A focused <select> (the filters) takes letters too: they choose its options.
  const typing = t instanceof HTMLInputElement || t instanceof HTMLSelectElement;
  if (typing) {
    if (e.key === 'Escape') {
      if (t.id === 'search' && t.value) {
        t.value = '';
        onSearchInput();
      }
      t.blur();
      $('list').focus();
    } else if ((e.key === 'ArrowDown' || e.key === 'Enter') && t.id === 'search') {
      e.preventDefault();
      t.blur();
      $('list').focus();
      list.move(list.selectedIndex < 0 ? 1 : 0);
    }
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      e.preventDefault();
      list.move(1);
      break;
    case 'k':
    case 'ArrowUp':
      e.preventDefault();
      list.move(-1);
      break;
    case 'Enter':
      if (state.note) noteBody().focus();
      else list.move(1);
      break;
    case 'r':
      setStatus('reviewed');
      break;
    case 'i':
      doImport(false);
      break;
    case 'd':
      setStatus('dismissed');
      break;
    case 'u':
    case 'z':
      undo();
      undoBulk();
      break;
    case 'x':
      toggleFocused();
      break;
    case '/':
      e.preventDefault();
      $('search').focus();
      el('search', HTMLInputElement).select();
      break;
    case 'Escape':
      if (state.selection.size) clearSelection();
      else if (state.patient) choosePatient(null, '');
      break;
  }
}

// Search as you type without a debounce delay: the first keystroke searches at once, and the
// keystrokes typed while a search runs are folded into one more search for the latest text.
let searching = false;
let searchAgain = false;
async function onSearchInput() {
  // `change` also fires when the box loses focus (a click on a result): same text, no search.
  if (!searching && el('search', HTMLInputElement).value === state.search) return;
  if (searching) {
    searchAgain = true;
    return;
  }
  searching = true;
  try {
    for (;;) {
      searchAgain = false;
      state.search = el('search', HTMLInputElement).value;
      if (state.search.trim()) state.patient = null;
      await Promise.all([reloadList(), refreshPatients()]);
      if (searchAgain) continue;
      await reloadNote();
      if (!searchAgain) break;
    }
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  } finally {
    searching = false;
  }
}

// ------------------------------------------------------------------------------------------
// Wiring

/**
 * What changed the notes: `sync` (this computer's poller), `clinic` (another desk or the clinic
 * server, announced by the shared inbox), `reconnected` (the clinic inbox is back: everything is
 * read again, since its changes in between were not announced), or this desk's own action.
 * @param {string} reason
 */
async function onNotesChanged(reason) {
  await refreshCounts();
  // Locked: only the counts (as notifications say); the list waits for the unlock.
  if (state.lock?.locked) return;
  // Changes from elsewhere keep the place in the list, as arriving notes do.
  const arrived = reason === 'sync' || reason === 'clinic' || reason === 'reconnected';
  await reloadList(arrived ? 'sync' : 'change');
  // New notes may bring a type or an author the filters do not offer yet.
  if (arrived) refreshFacets().catch(showError);
  if (!arrived) await refreshPatients();
  else if (!state.search.trim()) refreshPatients();
  await reloadNote();
}

/** The open note again: its status may have moved, or the search marks changed. */
async function reloadNote() {
  const sel = list.selectedUuid;
  if (!sel) return;
  try {
    const n = await ipc.getNote(sel, state.search.trim() || null);
    if (list.selectedUuid === sel) showNote(n);
  } catch {
    /* gone from the inbox: the list no longer shows it */
  }
}

// ------------------------------------------------------------------------------------------
// The idle lock

/**
 * Removes every note, name and search text from the page (not only from sight): the list's
 * rows, the note pane, the patient list, the search box, and anything that repeats them.
 */
function purge() {
  list.clear();
  clearNote();
  clearAssign();
  clearBulk();
  clearFilters();
  $('patients').replaceChildren();
  el('search', HTMLInputElement).value = '';
  state.search = '';
  state.patient = null;
  state.undo = null;
  delete $('list').dataset.query;
  $('list-title').textContent = 'All notes';
  $('list-empty').hidden = true;
  $('list-empty').textContent = '';
  $('new-pill').hidden = true;
  $('new-pill').textContent = '';
  $('toast').hidden = true;
  $('problem').hidden = true;
  $('problem-text').textContent = '';
  $('patient-clear').hidden = true;
  for (const f of document.querySelectorAll('.filter')) f.classList.toggle('active', f.getAttribute('data-status') === 'all');
  state.filter = 'all';
  el('pin-new', HTMLInputElement).value = '';
  el('pin-repeat', HTMLInputElement).value = '';
  state.pinSetup = false;
  // A database password typed in Settings and not saved goes too.
  const form = /** @type {HTMLFormElement} */ ($('settings-form'));
  for (const name of ['password', 'inboxPassword']) {
    const pw = form.elements.namedItem(name);
    if (pw instanceof HTMLInputElement) pw.value = '';
  }
}

/** `lock-state`: hide everything on lock; on unlock, the inbox again. @param {LockView} v */
async function onLockState(v) {
  const was = state.lock?.locked ?? false;
  state.lock = v;
  if (v.locked) {
    if (!was) {
      purge();
      resetLockScreen();
      // Focus leaves whatever held it (a note, the search box) for the PIN field.
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    }
    renderLock(v);
    updateScreens();
    if (!was && !state.lockSignIn) el('lock-pin', HTMLInputElement).focus();
    return;
  }
  // Before the first status the screens wait for it (onStatus), as at start.
  if (state.status) updateScreens();
  if (!was) return;
  resetLockScreen();
  state.lockSignIn = false;
  resetSignIn();
  // Unlocked by a full sign-in after the PIN was forgotten (or never set): choose one now.
  if (!v.pinSet) openPinSetup(updateScreens);
  else updateScreens();
  await refreshCounts();
  await Promise.all([reloadList(), refreshPatients(), refreshFacets()]);
  if (!state.pinSetup) $('list').focus();
}

async function main() {
  state.info = await ipc.appInfo();
  $('demo-badge').hidden = !state.info.demo;
  // Clinic mode: the clinic server syncs; the button reads the shared inbox again.
  if (state.info.clinic) {
    $('btn-sync').textContent = 'Refresh';
    $('btn-sync').title = 'Read the clinic inbox again (the clinic server syncs with Askara)';
  }

  for (const b of document.querySelectorAll('.filter')) {
    b.addEventListener('click', async () => {
      state.filter = /** @type {any} */ (/** @type {HTMLElement} */ (b).dataset.status);
      for (const o of document.querySelectorAll('.filter')) o.classList.toggle('active', o === b);
      await reloadList();
    });
  }
  document.querySelector('.filter[data-status="all"]')?.classList.add('active');
  $('search').addEventListener('input', onSearchInput);
  $('search').addEventListener('change', onSearchInput);
  $('patient-clear').addEventListener('click', () => choosePatient(null, ''));
  $('note-patient').addEventListener('click', () => {
    if (state.note?.patientUuid) choosePatient(state.note.patientUuid, state.note.patientName);
  });
  $('new-pill').addEventListener('click', () => {
    $('new-pill').hidden = true;
    list.scrollToTop();
  });
  $('list').addEventListener('scroll', () => {
    if ($('list').scrollTop === 0) $('new-pill').hidden = true;
  });
  $('btn-review').addEventListener('click', () => setStatus('reviewed'));
  $('btn-dismiss').addEventListener('click', () => setStatus('dismissed'));
  $('btn-import').addEventListener('click', () => doImport(false));
  $('undo').addEventListener('click', undo);
  $('btn-versions').addEventListener('click', toggleVersions);
  wireReading(showError);
  wireFilters(() => reloadList().catch(showError));
  wireBulk(list, showError);
  wireAssign(showError);
  $('btn-sync').addEventListener('click', () => ipc.syncNow().catch(showError));
  $('btn-settings').addEventListener('click', openSettings);
  $('btn-signin-settings').addEventListener('click', openSettings);
  $('problem-signin').addEventListener('click', () => {
    state.forceSignIn = true;
    resetSignIn();
    updateScreens();
  });
  $('btn-signin').addEventListener('click', startSignIn);
  $('btn-open-browser').addEventListener('click', () => ipc.openVerification().catch(signInFailed));
  $('btn-signin-cancel').addEventListener('click', async () => {
    await ipc.signInCancel();
    resetSignIn();
    if (state.lock?.locked) {
      state.lockSignIn = false;
      updateScreens();
    }
  });
  $('btn-demo').addEventListener('click', () => ipc.startDemo().catch(signInFailed));
  wireSettings(updateScreens);
  wireLock(updateScreens, startSignIn);
  $('btn-signin-back').addEventListener('click', async () => {
    await ipc.signInCancel();
    resetSignIn();
    state.lockSignIn = false;
    updateScreens();
  });
  document.addEventListener('keydown', onKey);
  for (const kind of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'input']) {
    document.addEventListener(kind, () => noteActivity(), { capture: true, passive: true });
  }

  listen('notes-changed', (p) => onNotesChanged(p.reason));
  listen('sync-status', onStatus);
  listen('import-result', (r) => {
    if (state.note?.uuid === r.uuid) showImport(r);
  });
  listen('lock-state', onLockState);
  listen('sign-in', (p) => {
    if (p.state === 'signed_in') {
      state.forceSignIn = false;
      resetSignIn();
      updateScreens();
      $('list').focus();
    } else {
      state.signingIn = false;
      signInFailed(p.error);
    }
  });
  // From here on no event is missed: what follows reads the state they would change.
  await startEvents({
    onMissed: async () => {
      await onLockState(await ipc.lockState());
      onStatus(await ipc.status());
      await onNotesChanged('missed');
    },
    onError: showError,
  });

  // Locked already (the app quit locked): nothing of a note is asked for until the unlock.
  await onLockState(await ipc.lockState());
  // A clinic server that does not answer yet fails these: the window opens all the same, says
  // why, and reads everything once the server is back (`notes-changed`, `reconnected`).
  try {
    await refreshCounts();
    if (!state.lock?.locked) await Promise.all([reloadList(), refreshPatients(), refreshFacets()]);
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
  onStatus(await ipc.status());
  // The countdowns in the strip; nothing to redraw while the window is hidden in the tray.
  setInterval(() => document.hidden || renderStatus(), 1000);
  document.addEventListener('visibilitychange', () => document.hidden || renderStatus());
}

window.addEventListener('error', (e) => showError({ code: 'ui', message: `UI error: ${e.message}` }));
window.addEventListener('unhandledrejection', (e) =>
  showError({ code: e.reason?.code ?? 'ui', message: e.reason?.message ?? `UI error: ${e.reason}` }),
);

main().catch((e) => {
  document.body.textContent = `Askara Inbox could not start: ${e?.message ?? e}`;
});
