// @ts-check
// Reading a note with care: its formatted text (or the plain text exactly as Askara sent it),
// where it came from (provenance: only what Askara or the delivery said, nothing guessed),
// copying the plain text, and printing the open note alone with the patient on every page.
// All note text goes into the page as text nodes, never as HTML.
import { el } from './dom.js';
import { state } from './state.js';
import { fmtDateTime } from './format.js';
import { renderBlocks } from './markdown.js';
import { historyOpen, loadHistory, clearHistory, toggleHistory } from './history.js';

/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').Provenance} Provenance */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

/** The plain text instead of the formatted one (kept while moving between notes). */
let plain = false;

/** "12 s", "1 min 35 s", "1 h 2 min": a recording's length. @param {number} secs */
export function fmtDuration(secs) {
  const s = Math.round(secs);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h) return `${h} h${m ? ` ${m} min` : ''}`;
  return `${m} min${rest ? ` ${rest} s` : ''}`;
}

/**
 * What the provenance lines say, each absent value as "not given".
 * @param {NoteView} note
 * @returns {{author: string, recording: string, written: string, source: string}}
 */
export function provenanceText(note) {
  const p = note.provenance;
  const a = p.author;
  let author = 'not given';
  if (a?.name) author = a.email ? `${a.name} (${a.email})` : a.name;
  else if (a?.email) author = a.email;
  else if (a?.uuid) author = `Askara user ${a.uuid}`;
  const r = p.recording;
  const rec = [];
  if (r?.recordedAt) rec.push(fmtDateTime(r.recordedAt));
  if (r?.durationSecs != null) rec.push(fmtDuration(r.durationSecs));
  const recording = rec.length ? rec.join(' · ') : 'not given';
  const written =
    `created in Askara ${fmtDateTime(note.createdAt)} · ` +
    (note.updatedAt !== note.createdAt ? `last revised ${fmtDateTime(note.updatedAt)}` : 'not revised since');
  const how = p.arrival === 'webhook' ? 'webhook from Askara' : 'polled from Askara';
  const checked = p.verified ? 'verified with Askara' : 'unverified: stored as delivered';
  const source = `${how}, ${fmtDateTime(p.arrivedAt)} · ${checked}`;
  return { author, recording, written, source };
}

/** The author in the note's meta line: a name when Askara gave one, else the user id. @param {NoteView} note */
export function authorLine(note) {
  const a = note.provenance.author;
  if (a?.name) return ` · recorded by ${a.name}`;
  const id = a?.uuid ?? note.authorUserId;
  return id ? ` · recorded by Askara user ${id}` : '';
}

/**
 * Draws the reading parts of the open note: its formatted text, provenance, the view chosen,
 * and its history when that is open.
 * @param {NoteView} note @param {boolean} another whether a different note than before
 */
export function showReading(note, another) {
  renderBlocks($('note-text'), note.text);
  const t = provenanceText(note);
  $('prov-author').textContent = t.author;
  $('prov-recording').textContent = t.recording;
  $('prov-written').textContent = t.written;
  $('prov-source').textContent = t.source;
  $('note-author').textContent = authorLine(note);
  applyView();
  if (another) clearPrint();
  // Open, it follows the note (and shows a status just changed).
  if (historyOpen()) {
    if (another) $('history-list').replaceChildren();
    loadHistory();
  }
}

function applyView() {
  $('note-text').hidden = plain;
  $('note-content').hidden = !plain;
  const b = el('btn-plain', HTMLButtonElement);
  b.setAttribute('aria-pressed', String(plain));
  b.textContent = plain ? 'Formatted' : 'Plain text';
  b.title = plain ? 'Show the note formatted' : 'Show the text exactly as Askara sent it';
}

/** Switches between the formatted text and the text as Askara sent it. */
export function togglePlain() {
  plain = !plain;
  applyView();
}

/** The element showing the note now (for the Enter key). */
export function noteBody() {
  return plain ? $('note-content') : $('note-text');
}

let copiedTimer = 0;

/**
 * Puts `text` on the clipboard: the Clipboard API, else (a webview that does not offer it)
 * the older copy command on a detached text field, removed at once.
 * @param {string} text
 */
async function writeClipboard(text) {
  /** @type {unknown} */
  let refused = null;
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch (e) {
      refused = e;
    }
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.readOnly = true;
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.append(field);
  field.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } finally {
    field.remove();
  }
  if (!copied) throw refused ?? new Error('the system clipboard refused it');
}

/** "Copy as plain text": the note's content exactly as Askara sent it. */
export async function copyPlain() {
  const note = state.note;
  if (!note) return;
  const b = el('btn-copy', HTMLButtonElement);
  try {
    await writeClipboard(note.content);
    b.textContent = 'Copied ✓';
    clearTimeout(copiedTimer);
    copiedTimer = window.setTimeout(() => (b.textContent = 'Copy as plain text'), 2000);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw /** @type {CmdError} */ ({ code: 'clipboard', message: `The note could not be copied: ${message}` });
  }
}

/**
 * Fills the print area: the patient and their identifiers in a header printed on every page,
 * then the note as shown (formatted or plain), copied node by node.
 * @param {NoteView} note
 */
export function fillPrint(note) {
  $('print-patient').textContent = note.patientName;
  const ids = [];
  // As the list shows them (date of birth, the practice's id), then Askara's own.
  if (note.patientIdentifiers) ids.push(note.patientIdentifiers);
  if (note.patientUuid) ids.push(`Askara patient ${note.patientUuid}`);
  $('print-ids').textContent = ids.length ? ids.join(' · ') : 'No patient identifier given';
  $('print-note').textContent = `${note.typeLabel} · ${fmtDateTime(note.createdAt)} · Askara note ${note.uuid}`;
  const title = document.createElement('h2');
  title.textContent = `${note.typeLabel}, ${fmtDateTime(note.createdAt)}`;
  const meta = document.createElement('p');
  meta.className = 'print-meta';
  meta.textContent = `${note.status}${authorLine(note)}`;
  const body = /** @type {HTMLElement} */ (noteBody().cloneNode(true));
  body.removeAttribute('id');
  body.removeAttribute('tabindex');
  body.hidden = false;
  $('print-body').replaceChildren(title, meta, body);
}

/** Empties the print area (after printing, another note, the lock). */
export function clearPrint() {
  for (const id of ['print-patient', 'print-ids', 'print-note']) $(id).textContent = '';
  $('print-body').replaceChildren();
}

/** "Print": the open note alone (the print stylesheet hides the rest of the window). */
export function printNote() {
  const note = state.note;
  if (!note) return;
  fillPrint(note);
  window.print();
}

/** Everything of the note these parts drew goes (the idle lock, no note open). */
export function clearReading() {
  $('note-text').replaceChildren();
  for (const id of ['prov-author', 'prov-recording', 'prov-written', 'prov-source']) $(id).textContent = '';
  clearHistory();
  clearPrint();
}

/** @param {(e: CmdError) => void} showError */
export function wireReading(showError) {
  $('btn-history').addEventListener('click', () => toggleHistory());
  $('btn-plain').addEventListener('click', togglePlain);
  $('btn-copy').addEventListener('click', () => copyPlain().catch(showError));
  $('btn-print').addEventListener('click', printNote);
  window.addEventListener('afterprint', clearPrint);
  applyView();
}
