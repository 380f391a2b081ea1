// @ts-check
// The list's filters besides status and patient: created from / to (local days, "to"
// included), note type and author, the choices filled from the notes present. They narrow the
// list and the search alike; Rust reads the dates (inbox::DateBound), so a date the picker
// let through as text and Rust cannot read comes back as an error in the status strip.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').FilterArgs} FilterArgs */

const $ = (/** @type {string} */ id) => el(id);

/** The filters as the commands take them; `null` when none is set. @returns {FilterArgs|null} */
export function filterArgs(needsPatient = false) {
  const f = state.filters;
  if (!f.since && !f.until && !f.noteType && !f.author && !needsPatient) return null;
  return {
    since: f.since || null,
    until: f.until || null,
    noteType: f.noteType || null,
    author: f.author || null,
    needsPatient,
  };
}

/** What the list source's key holds of the filters (a new key starts the list at the top). */
export function filterKey() {
  const f = state.filters;
  return [f.since, f.until, f.noteType, f.author].join('|');
}

/**
 * Refills a <select> with `options` ([value, label]) after an "any" choice, keeping the
 * current value even when no note has it any more (the list then says it is empty).
 * @param {HTMLSelectElement} sel @param {string} any @param {[string, string][]} options @param {string} current
 */
export function fillSelect(sel, any, options, current) {
  const all = /** @type {[string, string][]} */ ([['', any], ...options]);
  if (current && !options.some(([v]) => v === current)) all.push([current, current]);
  sel.replaceChildren(
    ...all.map(([value, label]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      return o;
    }),
  );
  sel.value = current;
}

/** The type and author choices, from the notes present. */
export async function refreshFacets() {
  const f = await ipc.noteFacets();
  // Locked while they were on their way: the page stays empty.
  if (state.lock?.locked) return;
  /** @type {[string, string][]} */
  const types = f.noteTypes.map((t) => [t.value, t.label]);
  /** @type {[string, string][]} */
  const authors = f.authors.map((a) => [a, a]);
  fillSelect(el('filter-type', HTMLSelectElement), 'All types', types, state.filters.noteType);
  fillSelect(el('filter-author', HTMLSelectElement), 'All authors', authors, state.filters.author);
}

/** Reads the controls into `state.filters`. */
function readControls() {
  state.filters = {
    since: el('filter-since', HTMLInputElement).value.trim(),
    until: el('filter-until', HTMLInputElement).value.trim(),
    noteType: el('filter-type', HTMLSelectElement).value,
    author: el('filter-author', HTMLSelectElement).value,
  };
  $('filter-clear').hidden = filterArgs() === null;
}

/** Puts `state.filters` into the controls. */
function writeControls() {
  const f = state.filters;
  el('filter-since', HTMLInputElement).value = f.since;
  el('filter-until', HTMLInputElement).value = f.until;
  el('filter-type', HTMLSelectElement).value = f.noteType;
  el('filter-author', HTMLSelectElement).value = f.author;
  $('filter-clear').hidden = filterArgs() === null;
}

/** Wires the controls; `changed` reloads the list. @param {() => Promise<void>} changed */
export function wireFilters(changed) {
  for (const id of ['filter-since', 'filter-until', 'filter-type', 'filter-author']) {
    $(id).addEventListener('change', () => {
      readControls();
      changed();
    });
  }
  $('filter-clear').addEventListener('click', () => {
    state.filters = { since: '', until: '', noteType: '', author: '' };
    writeControls();
    changed();
  });
}

/** No filter, and no choices left in the page (the idle lock). */
export function clearFilters() {
  state.filters = { since: '', until: '', noteType: '', author: '' };
  for (const id of ['filter-type', 'filter-author']) el(id, HTMLSelectElement).replaceChildren();
  writeControls();
}
