// @ts-check
// The open note's history: its audit trail, oldest first, each step in words (the words come
// from Rust, app::history), with the local time and who acted. Opened with the History button;
// it follows the open note while open, and goes with it on the idle lock.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').HistoryStep} HistoryStep */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

// Steps often come seconds apart (reviewed, then read again): the time says the seconds.
const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/**
 * Draws `steps` into the list `ol`: time, actor, what happened (all as text).
 * @param {HTMLElement} ol @param {HistoryStep[]} steps
 */
export function renderHistory(ol, steps) {
  ol.replaceChildren(
    ...steps.map((s) => {
      const li = document.createElement('li');
      li.dataset.action = s.action;
      const at = document.createElement('time');
      at.className = 'at';
      at.dateTime = s.at;
      at.textContent = when.format(new Date(s.at));
      const who = document.createElement('span');
      who.className = 'actor';
      who.textContent = s.actorLabel;
      who.title = s.actor;
      const what = document.createElement('span');
      what.className = 'what';
      what.textContent = s.words;
      li.append(at, who, what);
      return li;
    }),
  );
}

/** Whether the History section is open (it then follows the open note). */
export function historyOpen() {
  return !$('history').hidden;
}

/**
 * Loads the open note's history into the section; errors say so inside it.
 * @returns {Promise<void>}
 */
export async function loadHistory() {
  const note = state.note;
  if (!note) return;
  try {
    const steps = await ipc.noteHistory(note.uuid);
    // Another note opened, the section closed, or the lock came while the trail was on its way.
    if (state.note?.uuid !== note.uuid || !historyOpen() || state.lock?.locked) return;
    renderHistory($('history-list'), steps);
    $('history-error').hidden = true;
    $('history').dataset.uuid = note.uuid;
  } catch (e) {
    const err = /** @type {CmdError} */ (e);
    if (err.code === 'locked' || !historyOpen()) return;
    $('history-list').replaceChildren();
    $('history-error').hidden = false;
    $('history-error').textContent = `The history cannot be read: ${err.message}`;
  }
}

/** The History button: opens (and loads) or closes the section. */
export async function toggleHistory() {
  const open = !historyOpen();
  $('history').hidden = !open;
  el('btn-history', HTMLButtonElement).setAttribute('aria-expanded', String(open));
  if (open) await loadHistory();
  else clearHistory(false);
}

/** Empties the section (on the lock, or when it closes). @param {boolean} [close] */
export function clearHistory(close = true) {
  $('history-list').replaceChildren();
  $('history-error').hidden = true;
  $('history-error').textContent = '';
  delete $('history').dataset.uuid;
  if (close) {
    $('history').hidden = true;
    el('btn-history', HTMLButtonElement).setAttribute('aria-expanded', 'false');
  }
}
