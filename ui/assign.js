// @ts-check
// "Assign to patient…": in the note pane, the note's assignment (or the offer to make one),
// and the picker: a search over the practice's own patients (the mapping's [patient_search]),
// each candidate with two identifiers, one chosen, then confirmed. Undo until imported.
// Names only ever go into the page as text.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').CandidateView} CandidateView */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

/** @type {(e: CmdError) => void} */
let onError = () => {};

/** The picker's state: which note, which candidate is chosen, which search listed it. */
const picker = {
  /** @type {string|null} */ uuid: null,
  /** @type {CandidateView|null} */ chosen: null,
  text: '',
  searching: false,
  again: false,
};

export function pickerOpen() {
  return !$('assign-picker').hidden;
}

/** The pane's assignment line and buttons for `note`. @param {NoteView} note */
export function showAssignment(note) {
  const box = $('assign-box');
  const open = note.canAssign && note.status !== 'imported' && note.status !== 'dismissed';
  const a = note.assignment;
  box.hidden = !a && !note.needsPatient && !open;
  box.classList.toggle('warn', note.needsPatient);
  if (a) {
    $('assign-text').textContent = `Assigned to practice patient ${a.patient} by ${a.assignedBy}.`;
  } else if (note.needsPatient) {
    $('assign-text').textContent = note.canAssign
      ? 'Needs patient: no confirmed patient in the practice database.'
      : 'Needs patient: no confirmed patient in the practice database (a mapping with [patient_search] lets you assign one).';
  } else {
    $('assign-text').textContent = '';
  }
  // An assignment is fixed once the note is in the practice database.
  el('btn-assign', HTMLButtonElement).hidden = !open;
  el('btn-assign', HTMLButtonElement).textContent = a ? 'Assign to another patient…' : 'Assign to patient…';
  el('btn-unassign', HTMLButtonElement).hidden = !a || note.status === 'imported';
}

/** Empties the pane's assignment and closes the picker (a lock, or no note). */
export function clearAssign() {
  $('assign-text').textContent = '';
  $('assign-box').hidden = true;
  closePicker();
}

function closePicker() {
  picker.uuid = null;
  picker.chosen = null;
  picker.text = '';
  el('assign-search', HTMLInputElement).value = '';
  $('assign-candidates').replaceChildren();
  delete $('assign-candidates').dataset.query;
  $('assign-for').textContent = '';
  $('assign-message').textContent = '';
  el('btn-assign-confirm', HTMLButtonElement).disabled = true;
  $('assign-picker').hidden = true;
}

function openPicker() {
  const note = state.note;
  if (!note || state.lock?.locked) return;
  closePicker();
  picker.uuid = note.uuid;
  $('assign-for').textContent = note.patientUuid
    ? `${note.typeLabel} of ${note.patientName}${note.patientIdentifiers ? ` · ${note.patientIdentifiers}` : ''} (as Askara names the patient).`
    : `${note.typeLabel} without a patient${note.patientName !== 'No patient' ? ` (Askara says: ${note.patientName})` : ''}.`;
  $('assign-message').textContent = 'Search the practice’s patients by name, date of birth or id.';
  $('assign-picker').hidden = false;
  el('assign-search', HTMLInputElement).focus();
}

/** Searches as the person types; keystrokes during a search fold into one more. */
async function onSearch() {
  if (picker.searching) {
    picker.again = true;
    return;
  }
  picker.searching = true;
  try {
    do {
      picker.again = false;
      const text = el('assign-search', HTMLInputElement).value.trim();
      // The same text again (a key that changed nothing): the list and the choice stay.
      if (text === $('assign-candidates').dataset.query) continue;
      const found = text ? await ipc.searchPracticePatients(text) : [];
      if (picker.again || !picker.uuid) continue;
      picker.text = text;
      showCandidates(found, text);
    } while (picker.again);
  } catch (e) {
    $('assign-message').textContent = /** @type {CmdError} */ (e).message;
  } finally {
    picker.searching = false;
  }
}

/** @param {CandidateView[]} found @param {string} text */
function showCandidates(found, text) {
  picker.chosen = null;
  // Which search the candidates are for (typing runs several); tests wait on it.
  $('assign-candidates').dataset.query = text;
  el('btn-assign-confirm', HTMLButtonElement).disabled = true;
  $('assign-candidates').replaceChildren(
    ...found.map((c) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'candidate';
      b.dataset.patientId = c.id;
      b.setAttribute('role', 'option');
      b.setAttribute('aria-selected', 'false');
      const name = document.createElement('span');
      name.className = 'candidate-name';
      name.textContent = c.name;
      const ids = document.createElement('span');
      ids.className = 'ids';
      ids.textContent = c.identifiers;
      b.append(name, ids);
      b.addEventListener('click', () => choose(c, b));
      li.append(b);
      return li;
    }),
  );
  $('assign-message').textContent = !text
    ? 'Search the practice’s patients by name, date of birth or id.'
    : found.length
      ? `${found.length} patient${found.length > 1 ? 's' : ''} found: choose one, then confirm.`
      : 'No patient in the practice database matches.';
}

/** @param {CandidateView} c @param {HTMLButtonElement} b */
function choose(c, b) {
  picker.chosen = c;
  for (const o of $('assign-candidates').querySelectorAll('.candidate')) {
    o.classList.toggle('selected', o === b);
    o.setAttribute('aria-selected', String(o === b));
  }
  $('assign-message').textContent = `Assign this note to ${c.name} · ${c.identifiers}?`;
  el('btn-assign-confirm', HTMLButtonElement).disabled = false;
}

async function confirmChoice() {
  const { uuid, chosen, text } = picker;
  if (!uuid || !chosen) return;
  el('btn-assign-confirm', HTMLButtonElement).disabled = true;
  try {
    await ipc.assignPatient(uuid, chosen.id, text);
    closePicker();
    $('list').focus();
  } catch (e) {
    $('assign-message').textContent = /** @type {CmdError} */ (e).message;
    el('btn-assign-confirm', HTMLButtonElement).disabled = false;
  }
}

async function unassign() {
  const note = state.note;
  if (!note) return;
  try {
    await ipc.unassignPatient(note.uuid);
  } catch (e) {
    onError(/** @type {CmdError} */ (e));
  }
}

/** @param {(e: CmdError) => void} showError */
export function wireAssign(showError) {
  onError = showError;
  $('btn-assign').addEventListener('click', openPicker);
  $('btn-unassign').addEventListener('click', unassign);
  $('assign-search').addEventListener('input', onSearch);
  $('assign-form').addEventListener('submit', (e) => {
    e.preventDefault();
    confirmChoice();
  });
  const cancel = () => {
    closePicker();
    $('list').focus();
  };
  $('btn-assign-cancel').addEventListener('click', cancel);
  $('assign-picker').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
    }
  });
}
