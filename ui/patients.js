// @ts-check
// Patients told apart: the two identifiers beside every name (list rows, the patient list),
// and the "Needs patient" list. Rust formats the identifiers (`born 1984-03-02 · ID 10023`,
// `born: not given`); this only puts them in the page, as text.
import { ipc } from './ipc.js';

/** @typedef {import('./ipc.js').NoteRow} NoteRow */
/** @typedef {import('./ipc.js').PatientView} PatientView */

/** The filter value of the "Needs patient" entry. */
export const NEEDS_PATIENT = 'needs-patient';

/** A list row's identifiers cell. @param {HTMLElement} cell @param {NoteRow|null} row */
export function renderIds(cell, row) {
  cell.textContent = row ? row.patientIdentifiers : '';
  cell.title = row?.patientIdentifiers ?? '';
}

/**
 * A patient list entry's name with its identifiers underneath.
 * @param {PatientView} p
 * @returns {HTMLElement}
 */
export function patientLabel(p) {
  const n = document.createElement('span');
  n.className = 'patient-label';
  const name = document.createElement('span');
  name.className = 'patient-name';
  name.textContent = p.name || 'Unnamed patient';
  const ids = document.createElement('small');
  ids.className = 'ids';
  ids.textContent = p.identifiers;
  n.append(name, ids);
  return n;
}
