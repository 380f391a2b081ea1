// @ts-check
// The inbox UI. Plain ES module, no framework, no build step. Note data is only ever put into
// the page with `textContent`: note content and names are text, never HTML.
import { ipc, listen } from './ipc.js';
import { VirtualList } from './list.js';
import { fmtWhen, fmtDateTime, fmtTime, fmtIn } from './format.js';
import { setParts, setDiff } from './text.js';
import { el } from './dom.js';
import { state } from './state.js';
import { startSignIn, signInFailed, resetSignIn } from './signin.js';
import { openSettings, wireSettings } from './settings.js';

/** @typedef {import('./ipc.js').NoteRow} NoteRow */
/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').Status} Status */
/** @typedef {import('./ipc.js').StatusView} StatusView */
/** @typedef {import('./ipc.js').CmdError} CmdError */

/** An element by id (see dom.js for typed kinds). @param {string} id */
const $ = (id) => el(id);

const PAGE = 100;
// Search results shown at most (newest first): enough to scan, small enough to come back
// within a keystroke; more typing narrows them.
const SEARCH_LIMIT = 200;


// ------------------------------------------------------------------------------------------
// The list

const list = new VirtualList($('list'), $('list-spacer'), renderRow, onSelect);

/** @param {HTMLElement} el @param {NoteRow|null} row */
function renderRow(el, row) {
  if (!el.firstChild) {
    for (const cls of ['mark', 'name', 'type', 'when']) {
      const s = document.createElement('span');
      s.className = cls;
      el.appendChild(s);
    }
  }
  const [mark, name, type, when] = /** @type {HTMLElement[]} */ (Array.from(el.children));
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
  const status = state.filter === 'all' ? null : state.filter;
  const patient = state.patient?.uuid ?? null;
  const text = state.search.trim();
  if (text) {
    return {
      key: `search|${status}|${patient}|${text}`,
      load: async () => ipc.searchNotes({ text, status, patient, limit: SEARCH_LIMIT }),
    };
  }
  if (patient) {
    return {
      key: `patient|${status}|${patient}`,
      load: async () => ipc.listNotes({ status, patient, offset: 0, limit: 1000 }),
    };
  }
  return {
    key: `list|${status}`,
    total: () => (state.counts ? state.counts[state.filter] : 0),
    page: (/** @type {number} */ offset) => ipc.listNotes({ status, patient: null, offset, limit: PAGE }),
  };
}

async function reloadList(reason = 'filter') {
  const src = source();
  const arrived = reason === 'sync';
  await list.setSource(src, { keepPosition: arrived, pageSize: PAGE });
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
  $('list-title').textContent = title;
  $('patient-clear').hidden = !state.patient;
}

/** @param {string} f */
function labelOf(f) {
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
// The note pane

/** @param {NoteView|null} note */
function showNote(note) {
  const prev = state.note?.uuid;
  state.note = note;
  $('pane-empty').hidden = !!note;
  $('note').hidden = !note;
  if (!note) return;
  $('note-patient').textContent = note.patientName;
  el('note-patient', HTMLButtonElement).disabled = !note.patientUuid;
  $('note-extid').textContent = note.patientExternalId ? `(pt ${note.patientExternalId})` : '';
  $('note-type').textContent = note.typeLabel;
  $('note-created').textContent = fmtDateTime(note.createdAt);
  $('note-created').title = `created ${note.createdAt}`;
  $('note-updated').textContent =
    note.updatedAt !== note.createdAt
      ? ` · revised ${fmtDateTime(note.updatedAt)}${note.versions ? ` (${note.versions} earlier version${note.versions > 1 ? 's' : ''})` : ''}`
      : '';
  $('note-status').textContent = note.status;
  $('note-author').textContent = note.authorUserId ? ` · recorded by Askara user ${note.authorUserId}` : '';
  $('note-unverified').hidden = note.verified;
  // Text, never HTML: markup in a note shows as the characters it is made of.
  if (note.contentParts) setParts($('note-content'), note.contentParts);
  else $('note-content').textContent = note.content;
  showChanges(note);
  $('note-uuid').textContent = note.uuid;
  el('btn-review', HTMLButtonElement).disabled = note.status === 'reviewed' || note.status === 'imported';
  el('btn-dismiss', HTMLButtonElement).disabled = note.status === 'dismissed' || note.status === 'imported';
  el('btn-import', HTMLButtonElement).disabled = note.status === 'dismissed';
  $('versions-bar').hidden = !note.versions;
  $('btn-versions').textContent = `Show the earlier version${note.versions > 1 ? 's' : ''} (${note.versions})`;
  if (prev !== note.uuid) {
    showImport(note.lastImport, true);
    $('versions').hidden = true;
    $('versions').replaceChildren();
    $('pane').scrollTop = 0;
  }
}

/**
 * @param {import('./ipc.js').ImportView|null} r
 * @param {boolean} [fromHistory]
 */
function showImport(r, fromHistory = false) {
  const box = $('import-result');
  box.replaceChildren();
  if (!r) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const at = r.importedAt ? fmtDateTime(r.importedAt) : '';
  const line = document.createElement('span');
  const add = (/** @type {string} */ label, /** @type {() => void} */ fn) => {
    const b = document.createElement('button');
    b.className = 'linklike';
    b.textContent = label;
    b.addEventListener('click', fn);
    box.append(' ', b);
  };
  switch (r.result) {
    case 'imported':
    case 'updated':
      box.className = 'result ok';
      line.textContent = `${r.result === 'updated' ? 'Updated' : 'Imported'} into ${r.target}${r.importedBy ? ` by ${r.importedBy}` : ''}${at ? ` at ${at}` : ''}.`;
      break;
    case 'unchanged':
      box.className = 'result ok';
      line.textContent = `Already in ${r.target}, unchanged: imported by ${r.importedBy ?? 'someone'}${at ? ` at ${at}` : ''}.`;
      break;
    case 'conflict':
      box.className = 'result warn';
      line.textContent = `Conflict: ${r.importedBy ?? 'someone'} imported an earlier version into ${r.target}${at ? ` at ${at}` : ''}, and Askara has revised the note since.`;
      box.append(line);
      add('Overwrite with this version', () => doImport(true));
      return;
    default:
      box.className = 'result warn';
      line.textContent = `Import ${fromHistory ? 'last failed' : 'failed'}: ${r.error?.message ?? 'unknown error'}`;
      box.append(line);
      add('Retry', () => doImport(false));
      if (r.error?.code === 'no_target') add('Open settings', openSettings);
      return;
  }
  box.append(line);
}

/** What Askara changed in a revised note, since the imported version (or the one before). */
function showChanges(/** @type {NoteView} */ note) {
  const box = $('changes');
  const c = note.changes;
  box.hidden = !c;
  if (!c) return;
  const { added, removed } = setDiff($('changes-text'), c.parts);
  const since = c.since === 'imported' ? 'the version imported into the practice database' : 'the previous version';
  $('changes-title').textContent =
    added + removed
      ? `Revised by Askara: changes since ${since} (${fmtDateTime(c.sinceUpdatedAt)}), added underlined, removed struck through`
      : `Revised by Askara since ${since} (${fmtDateTime(c.sinceUpdatedAt)}); the text is the same`;
}

/** Shows or hides what Askara's note said before it was revised (as text). */
async function toggleVersions() {
  const box = $('versions');
  const note = state.note;
  if (!note) return;
  const label = `the earlier version${note.versions > 1 ? 's' : ''} (${note.versions})`;
  if (!box.hidden) {
    box.hidden = true;
    $('btn-versions').textContent = `Show ${label}`;
    return;
  }
  try {
    const versions = await ipc.noteVersions(note.uuid);
    box.replaceChildren(
      ...versions.map((v) => {
        const section = document.createElement('section');
        const h = document.createElement('h4');
        h.textContent = `${v.typeLabel} as of ${fmtDateTime(v.updatedAt)} (replaced ${fmtDateTime(v.replacedAt)})`;
        const body = document.createElement('div');
        body.className = 'content old';
        body.textContent = v.content;
        section.append(h, body);
        return section;
      }),
    );
    box.hidden = false;
    $('btn-versions').textContent = `Hide ${label}`;
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
}

async function setStatus(/** @type {Status} */ to) {
  const note = state.note;
  if (!note) return;
  try {
    const from = await ipc.setStatus(note.uuid, to);
    if (to === 'dismissed') offerUndo(note.uuid, from);
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
}

/** @param {string} uuid @param {Status} from */
function offerUndo(uuid, from) {
  state.undo = { uuid, from };
  $('toast-text').textContent = 'Note dismissed.';
  $('toast').hidden = false;
  clearTimeout(state.undoTimer);
  state.undoTimer = window.setTimeout(() => {
    $('toast').hidden = true;
    state.undo = null;
  }, 10000);
}

async function undo() {
  const u = state.undo;
  if (!u) return;
  state.undo = null;
  $('toast').hidden = true;
  try {
    await ipc.setStatus(u.uuid, u.from);
  } catch (e) {
    showError(/** @type {CmdError} */ (e));
  }
}

async function doImport(allowUpdate = false) {
  const note = state.note;
  if (!note || note.status === 'dismissed') return;
  el('btn-import', HTMLButtonElement).disabled = true;
  const box = $('import-result');
  box.hidden = false;
  box.className = 'result';
  box.textContent = 'Importing…';
  try {
    const r = await ipc.importNote(note.uuid, allowUpdate);
    if (state.note?.uuid === note.uuid) showImport(r);
  } catch (e) {
    showImport({ uuid: note.uuid, result: 'error', target: '', importedAt: null, importedBy: null, error: /** @type {CmdError} */ (e) });
  } finally {
    el('btn-import', HTMLButtonElement).disabled = state.note?.status === 'dismissed';
  }
}

/** Errors of an action: shown in the status strip, in words, never as a pop-up. */
function showError(/** @type {CmdError} */ e) {
  $('problem').hidden = false;
  $('problem-text').textContent = `⚠ ${e.message}`;
  $('problem-signin').hidden = !['auth_expired', 'keyring'].includes(e.code);
}

// ------------------------------------------------------------------------------------------
// Counts, patients, status strip

async function refreshCounts() {
  const c = await ipc.counts();
  state.counts = c;
  for (const el of document.querySelectorAll('[data-count]')) {
    const k = /** @type {HTMLElement} */ (el).dataset.count;
    el.textContent = String(c[/** @type {keyof typeof c} */ (k)] ?? 0);
  }
  const base = state.info?.demo ? 'Askara Inbox (demo)' : 'Askara Inbox';
  document.title = c.new ? `(${c.new} new) ${base}` : base;
}

async function refreshPatients() {
  const text = state.search.trim() || null;
  const ps = await ipc.patients(text, 40);
  const ul = $('patients');
  ul.replaceChildren(
    ...ps.map((p) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.dataset.patient = p.uuid;
      b.className = state.patient?.uuid === p.uuid ? 'active' : '';
      const n = document.createElement('span');
      n.textContent = p.name || 'Unnamed patient';
      const c = document.createElement('span');
      c.className = 'count';
      c.textContent = String(p.noteCount);
      b.append(n, c);
      b.addEventListener('click', () => choosePatient(p.uuid, p.name));
      li.append(b);
      return li;
    }),
  );
}

/** @param {string|null} uuid @param {string} name */
async function choosePatient(uuid, name) {
  state.patient = uuid ? { uuid, name } : null;
  if (uuid) {
    state.search = '';
    el('search', HTMLInputElement).value = '';
  }
  await Promise.all([reloadList(), refreshPatients()]);
}

function renderStatus() {
  const s = state.status;
  if (!s) return;
  const now = Date.now();
  const dot = $('strip-dot');
  const p = s.problem;
  dot.className = `dot${p ? ' warn' : s.signedIn ? '' : ' off'}`;
  let sync = '';
  if (!s.signedIn) sync = 'Not signed in';
  else if (s.syncing && !s.lastSyncAt) sync = 'Syncing…';
  else sync = s.lastSyncAt ? `Synced ${fmtTime(s.lastSyncAt)}` : 'Not synced yet';
  if (s.signedIn && s.nextPollAt) sync += ` · next in ${fmtIn(s.nextPollAt, now)}`;
  $('strip-sync').textContent = sync;
  let acct = '';
  if (s.signedIn) {
    acct = `Signed in${s.account ? ` as ${s.account}` : ''}`;
    if (s.tokenExpiresAt) acct += ` (token ${fmtIn(s.tokenExpiresAt, now)})`;
    if (s.tokenStorage === 'memory') acct += ' · demo: no keyring, sign-in kept in memory';
  }
  $('strip-account').textContent = acct;
  $('strip-target').textContent = s.target ? `Target: ${s.target}` : 'No import target (Settings)';
  $('problem').hidden = !p;
  $('strip-target').hidden = !!p;
  if (p) {
    let text = `⚠ ${p.summary}`;
    if (p.code === 'rate_limited' && p.until) text += ` until ${fmtTime(p.until)}`;
    else if (p.until && new Date(p.until).getTime() > now) text += ` · retrying in ${fmtIn(p.until, now)}`;
    text += `. ${p.fix}.`;
    $('problem-text').textContent = text.replace('..', '.');
    $('problem-signin').hidden = !p.needsSignIn;
  }
}

/** @param {StatusView} s */
function onStatus(s) {
  state.status = s;
  renderStatus();
  updateScreens();
}

function updateScreens() {
  const s = state.status;
  const signIn = !!s && (!s.signedIn || state.forceSignIn);
  const settingsOpen = !$('settings').hidden;
  $('signin').hidden = !signIn || settingsOpen;
  $('app').hidden = signIn;
  if (signIn) {
    const kp = s?.problem?.code === 'keyring' ? s.problem : null;
    $('keyring-problem').hidden = !kp;
    $('keyring-problem').textContent = kp ? `${kp.summary}. ${kp.fix}` : '';
    $('btn-demo').hidden = !(state.info?.firstRun && !state.info?.demo);
    // The demo signs itself in: the simulator approves device codes at once.
    if (state.info?.demo && !state.signingIn && !s?.signedIn) startSignIn();
  }
}

// ------------------------------------------------------------------------------------------
// Keyboard: j/k or arrows, Enter, r, i, d, u (undo), /, Escape.

/** @param {KeyboardEvent} e */
function onKey(e) {
  if ($('app').hidden || !$('settings').hidden) return;
  const t = /** @type {HTMLElement} */ (e.target);
  const typing = t instanceof HTMLInputElement;
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
      if (state.note) $('note-content').focus();
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
      break;
    case '/':
      e.preventDefault();
      $('search').focus();
      el('search', HTMLInputElement).select();
      break;
    case 'Escape':
      if (state.patient) choosePatient(null, '');
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

async function onNotesChanged(/** @type {string} */ reason) {
  await refreshCounts();
  await reloadList(reason === 'sync' ? 'sync' : 'change');
  if (reason !== 'sync') await refreshPatients();
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

async function main() {
  state.info = await ipc.appInfo();
  $('demo-badge').hidden = !state.info.demo;

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
  });
  $('btn-demo').addEventListener('click', () => ipc.startDemo().catch(signInFailed));
  wireSettings(updateScreens);
  document.addEventListener('keydown', onKey);

  await listen('notes-changed', (p) => onNotesChanged(p.reason));
  await listen('sync-status', onStatus);
  await listen('import-result', (r) => {
    if (state.note?.uuid === r.uuid) showImport(r);
  });
  await listen('sign-in', (p) => {
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

  await refreshCounts();
  await Promise.all([reloadList(), refreshPatients()]);
  onStatus(await ipc.status());
  setInterval(renderStatus, 1000);
}

window.addEventListener('error', (e) => showError({ code: 'ui', message: `UI error: ${e.message}` }));
window.addEventListener('unhandledrejection', (e) =>
  showError({ code: e.reason?.code ?? 'ui', message: e.reason?.message ?? `UI error: ${e.reason}` }),
);

main().catch((e) => {
  document.body.textContent = `Askara Inbox could not start: ${e?.message ?? e}`;
});
