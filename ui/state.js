// @ts-check
// What the UI is showing, shared by its modules (app.js, signin.js, settings.js).

/** @typedef {import('./ipc.js').Status} Status */

export const state = {
  /** @type {import('./ipc.js').AppInfo|null} */ info: null,
  /** @type {Status|'all'|'needs-patient'} */ filter: 'all',
  /** @type {{uuid: string, name: string}|null} */ patient: null,
  search: '',
  /** @type {import('./ipc.js').NoteView|null} */ note: null,
  /** @type {import('./ipc.js').StatusView|null} */ status: null,
  /** @type {import('./ipc.js').Counts|null} */ counts: null,
  /** @type {{uuid: string, from: Status}|null} */ undo: null,
  /** @type {number|undefined} */ undoTimer: undefined,
  /** Sign-in screen forced open (sign in again after a revoked sign-in). */
  forceSignIn: false,
  signingIn: false,
  /** The idle lock as Rust last said; null until asked. @type {import('./ipc.js').LockView|null} */
  lock: null,
  /** The sign-in screen opened from the lock screen (a full sign-in unlocks). */
  lockSignIn: false,
  /** The "choose an unlock PIN" screen is open. */
  pinSetup: false,
  /** The list's filters besides status and patient ('' = any): created from / to (local
   * YYYY-MM-DD days, `until` included), note type and author as Rust names them (filters.js). */
  filters: { since: '', until: '', noteType: '', author: '' },
  /** Notes ticked for a bulk action, by uuid (bulk.js). @type {Set<string>} */
  selection: new Set(),
  /** The last bulk dismissal, for undo: each note and the status it had. @type {{uuid: string, from: Status}[]|null} */
  bulkUndo: null,
};
