// @ts-check
// The note pane: the note as text (never HTML; formatted from Rust's tree in reading.js), its
// import result, what Askara changed, earlier versions, and the review actions with undo.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';
import { openSettings } from './settings.js';
import { fmtDateTime } from './format.js';
import { setParts, setDiff } from './text.js';
import { showReading, clearReading } from './reading.js';
import { showAssignment, clearAssign } from './assign.js';

/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').Status} Status */
/** @typedef {import('./ipc.js').StatusView} StatusView */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);


/** @param {NoteView|null} note */
export function showNote(note) {
  // A note that arrives after the lock stays out of the page.
  if (note && state.lock?.locked) return;
  const prev = state.note?.uuid;
  state.note = note;
  $('pane-empty').hidden = !!note;
  $('note').hidden = !note;
  if (!note) return;
  $('note-patient').textContent = note.patientName;
  el('note-patient', HTMLButtonElement).disabled = !note.patientUuid;
  // Two identifiers beside the name: patients of one name are told apart.
  $('note-extid').textContent = note.patientIdentifiers ? `· ${note.patientIdentifiers}` : '';
  $('note-type').textContent = note.typeLabel;
  $('note-created').textContent = fmtDateTime(note.createdAt);
  $('note-created').title = `created ${note.createdAt}`;
  $('note-updated').textContent =
    note.updatedAt !== note.createdAt
      ? ` · revised ${fmtDateTime(note.updatedAt)}${note.versions ? ` (${note.versions} earlier version${note.versions > 1 ? 's' : ''})` : ''}`
      : '';
  $('note-status').textContent = note.status;
  $('note-unverified').hidden = note.verified;
  // Text, never HTML: markup in a note shows as the characters it is made of.
  if (note.contentParts) setParts($('note-content'), note.contentParts);
  else $('note-content').textContent = note.content;
  showChanges(note);
  showAssignment(note);
  // The formatted text, provenance (and the author in the meta line), history.
  showReading(note, prev !== note.uuid);
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
export function showImport(r, fromHistory = false) {
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
      line.textContent = `${r.result === 'updated' ? 'Updated' : 'Imported'}${importedFor(r.uuid)} into ${r.target}${r.importedBy ? ` by ${r.importedBy}` : ''}${at ? ` at ${at}` : ''}.`;
      break;
    case 'unchanged':
      box.className = 'result ok';
      line.textContent = `Already in ${r.target}, unchanged: imported by ${r.importedBy ?? 'someone'}${at ? ` at ${at}` : ''}.`;
      break;
    case 'conflict':
      box.className = 'result warn';
      if (r.conflict === 'patient') {
        // Filed elsewhere under another patient: say so, and make moving it a deliberate act.
        line.textContent = `Not imported: ${r.target} already holds this note under another patient (${r.heldPatient ?? 'none'}), imported by ${r.importedBy ?? 'someone'}${at ? ` at ${at}` : ''}. Check which patient is right before moving it.`;
        box.append(line);
        add(`Move it to${importedFor(r.uuid).replace(/^ for /, ' ') || ' this patient'}`, () => doImport(true));
        return;
      }
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

/**
 * The confirmation names whose note went in, with two identifiers (and the practice patient a
 * person assigned, when one did).
 * @param {string} uuid
 */
function importedFor(uuid) {
  const n = state.note;
  if (!n || n.uuid !== uuid) return '';
  if (n.assignment) return ` for practice patient ${n.assignment.patient}`;
  if (!n.patientUuid && !n.patientIdentifiers) return '';
  return ` for ${n.patientName}${n.patientIdentifiers ? ` · ${n.patientIdentifiers}` : ''}`;
}

/** What Askara changed in a revised note, since the imported version (or the one before). */
export function showChanges(/** @type {NoteView} */ note) {
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
export async function toggleVersions() {
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
    if (state.note?.uuid !== note.uuid) return;
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

export async function setStatus(/** @type {Status} */ to) {
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
export function offerUndo(uuid, from) {
  state.undo = { uuid, from };
  state.bulkUndo = null;
  $('toast-text').textContent = 'Note dismissed.';
  $('toast').hidden = false;
  clearTimeout(state.undoTimer);
  state.undoTimer = window.setTimeout(() => {
    $('toast').hidden = true;
    state.undo = null;
  }, 10000);
}

export async function undo() {
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

export async function doImport(allowUpdate = false) {
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
    showImport({ uuid: note.uuid, result: 'error', target: '', importedAt: null, importedBy: null, error: /** @type {CmdError} */ (e), conflict: null, heldPatient: null });
  } finally {
    el('btn-import', HTMLButtonElement).disabled = state.note?.status === 'dismissed';
  }
}

/**
 * Empties the note pane: every field's text goes, not just the pane (the idle lock).
 */
export function clearNote() {
  state.note = null;
  for (const id of ['note-patient', 'note-extid', 'note-type', 'note-created', 'note-updated', 'note-status', 'note-author', 'note-content', 'note-uuid', 'changes-title', 'btn-versions']) {
    $(id).textContent = '';
    $(id).title = '';
  }
  for (const id of ['changes-text', 'versions', 'import-result']) $(id).replaceChildren();
  clearReading();
  clearAssign();
  for (const id of ['changes', 'versions', 'import-result', 'versions-bar', 'note']) $(id).hidden = true;
  $('pane-empty').hidden = false;
}

/** Errors of an action: shown in the status strip, in words, never as a pop-up. */
export function showError(/** @type {CmdError} */ e) {
  // The lock screen says it; a command caught by the lock on its way is not a problem.
  if (e.code === 'locked') return;
  $('problem').hidden = false;
  $('problem-text').textContent = `⚠ ${e.message}`;
  $('problem-signin').hidden = !['auth_expired', 'keyring'].includes(e.code);
}

