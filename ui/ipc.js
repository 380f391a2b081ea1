// @ts-check
// The one module that talks to Rust. Every command and event the UI uses is typed here (JSDoc,
// checked by `tsc --checkJs` if you have it; no build step needed). `withGlobalTauri` is off,
// so this uses the IPC bridge Tauri always injects (`__TAURI_INTERNALS__`), as
// `@tauri-apps/api/core` does.

/**
 * @typedef {{code: string, message: string}} CmdError
 * @typedef {'new'|'reviewed'|'imported'|'dismissed'|'revised'} Status
 * @typedef {{version: string, demo: boolean, firstRun: boolean, dataDir: string}} AppInfo
 * @typedef {{text: string, hit: boolean}} TextPart
 * @typedef {{kind: 'same'|'added'|'removed', text: string}} DiffPart
 * @typedef {{since: 'imported'|'previous', sinceUpdatedAt: string, parts: DiffPart[]}} ChangesView
 * @typedef {{uuid: string, patientName: string, patientUuid: string|null, typeLabel: string,
 *   createdAt: string, status: Status, verified: boolean, nameParts?: TextPart[],
 *   snippet?: TextPart[]}} NoteRow
 * @typedef {{uuid: string, result: 'imported'|'unchanged'|'updated'|'conflict'|'error',
 *   target: string, importedAt: string|null, importedBy: string|null, error: CmdError|null}} ImportView
 * @typedef {{uuid: string, patientName: string, patientUuid: string|null,
 *   patientExternalId: string|null, noteType: string|null, typeLabel: string, content: string,
 *   createdAt: string, updatedAt: string, status: Status, verified: boolean,
 *   authorUserId: string|null, versions: number,
 *   lastImport: ImportView|null, contentParts?: TextPart[], changes?: ChangesView}} NoteView
 * @typedef {{typeLabel: string, content: string, updatedAt: string, replacedAt: string}} VersionView
 * @typedef {{uuid: string, name: string, externalId: string|null, noteCount: number}} PatientView
 * @typedef {{all: number, new: number, reviewed: number, imported: number, dismissed: number,
 *   revised: number}} Counts
 * @typedef {{code: string, summary: string, fix: string, until?: string,
 *   needsSignIn: boolean}} Problem
 * @typedef {{demo: boolean, signedIn: boolean, account: string|null,
 *   tokenExpiresAt: string|null, tokenStorage: string, syncing: boolean,
 *   lastSyncAt: string|null, nextPollAt: string|null, lastNew: number, target: string,
 *   problem: Problem|null}} StatusView
 * @typedef {{userCode: string, verificationUri: string,
 *   verificationUriComplete: string|null, expiresAt: string}} DeviceView
 * @typedef {({method: 'device'} & DeviceView) | {method: 'browser', authorizeUrl: string}} SignInView
 * @typedef {{baseUrl: string, clientId: string, tokenUrl: string, deviceUrl: string,
 *   authorizeUrl: string, signInMethod: 'device'|'browser', tokenBody: 'json'|'form', scopes: string[],
 *   intervalSecs: number, importTarget: string, mappingFile: string,
 *   notifyNewNotes: boolean}} Settings
 * @typedef {{ok: boolean, message: string}} Check
 * @typedef {{askara: Check, target: Check|null}} ConnectionReport
 * @typedef {{reason: string}} NotesChanged
 * @typedef {{state: 'signed_in'} | {state: 'failed', error: CmdError}} SignInEvent
 * @typedef {{
 *   'notes-changed': NotesChanged,
 *   'sync-status': StatusView,
 *   'sign-in': SignInEvent,
 *   'import-result': ImportView,
 * }} Events
 */

/** @type {{invoke: (cmd: string, args?: object) => Promise<any>,
 *   transformCallback: (cb: (e: any) => void, once?: boolean) => number}} */
const bridge = /** @type {any} */ (window).__TAURI_INTERNALS__;

/**
 * @param {unknown} e
 * @returns {CmdError}
 */
function asError(e) {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return /** @type {CmdError} */ (e);
  }
  return { code: 'internal', message: String(e) };
}

/**
 * @template T
 * @param {string} cmd
 * @param {object} [args]
 * @returns {Promise<T>}
 */
async function call(cmd, args) {
  try {
    return await bridge.invoke(cmd, args ?? {});
  } catch (e) {
    throw asError(e);
  }
}

export const ipc = {
  /** @returns {Promise<AppInfo>} */
  appInfo: () => call('app_info'),
  /** @returns {Promise<StatusView>} */
  status: () => call('status'),
  /**
   * @param {{status: Status|null, patient: string|null, offset: number, limit: number}} q
   * @returns {Promise<NoteRow[]>}
   */
  listNotes: (q) => call('list_notes', q),
  /**
   * @param {{text: string, status: Status|null, patient: string|null, limit: number}} q
   * @returns {Promise<NoteRow[]>}
   */
  searchNotes: (q) => call('search_notes', q),
  /**
   * A note; with the search text, its matches come marked in `contentParts`.
   * @param {string} uuid @param {string|null} [query] @returns {Promise<NoteView>}
   */
  getNote: (uuid, query = null) => call('get_note', { uuid, query }),
  /** Earlier contents of a revised note, newest first. @param {string} uuid @returns {Promise<VersionView[]>} */
  noteVersions: (uuid) => call('note_versions', { uuid }),
  /** @returns {Promise<Counts>} */
  counts: () => call('counts'),
  /** @param {string|null} text @param {number} limit @returns {Promise<PatientView[]>} */
  patients: (text, limit) => call('patients', { text, limit }),
  /**
   * Moves a note; resolves to the status it had before (for undo).
   * @param {string} uuid @param {Status} status @returns {Promise<Status>}
   */
  setStatus: (uuid, status) => call('set_status', { uuid, status }),
  /** @param {string} uuid @param {boolean} allowUpdate @returns {Promise<ImportView>} */
  importNote: (uuid, allowUpdate) => call('import_note', { uuid, allowUpdate }),
  /** Starts the configured sign-in. @returns {Promise<SignInView>} */
  signInStart: () => call('sign_in_start'),
  /** @returns {Promise<void>} */
  signInCancel: () => call('sign_in_cancel'),
  /** @returns {Promise<void>} */
  openVerification: () => call('open_verification'),
  /** @returns {Promise<void>} */
  signOut: () => call('sign_out'),
  /** @returns {Promise<void>} */
  syncNow: () => call('sync_now'),
  /** @returns {Promise<Settings>} */
  getSettings: () => call('get_settings'),
  /** @param {Settings} settings @param {string|null} password @returns {Promise<void>} */
  saveSettings: (settings, password) => call('save_settings', { settings, password }),
  /** @param {Settings} settings @param {string|null} password @returns {Promise<ConnectionReport>} */
  testConnection: (settings, password) => call('test_connection', { settings, password }),
  /** @returns {Promise<void>} */
  startDemo: () => call('start_demo'),
};

/**
 * Subscribes to an event from Rust; resolves to a function that unsubscribes.
 * @template {keyof Events} K
 * @param {K} event
 * @param {(payload: Events[K]) => void} handler
 * @returns {Promise<() => Promise<void>>}
 */
export async function listen(event, handler) {
  const cb = bridge.transformCallback((/** @type {{payload: Events[K]}} */ e) => handler(e.payload));
  const eventId = await call('plugin:event|listen', { event, target: { kind: 'Any' }, handler: cb });
  return () => call('plugin:event|unlisten', { event, eventId });
}
