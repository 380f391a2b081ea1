// @ts-check
// The one module that talks to Rust. Every command and event the UI uses is typed here (JSDoc,
// checked by `tsc --checkJs` if you have it; no build step needed). `withGlobalTauri` is off,
// so this uses the IPC bridge Tauri always injects (`__TAURI_INTERNALS__`), as
// `@tauri-apps/api/core` does.

/**
 * Every type that crosses the bridge is generated from Rust (ui/ipc-types.d.ts, checked
 * for freshness by src-tauri's tests); these aliases only import them.
 * @typedef {import('./ipc-types').NoteStatus} Status
 * @typedef {import('./ipc-types').CmdError} CmdError
 * @typedef {import('./ipc-types').AppInfo} AppInfo
 * @typedef {import('./ipc-types').TextPart} TextPart
 * @typedef {import('./ipc-types').DiffPart} DiffPart
 * @typedef {import('./ipc-types').ChangesView} ChangesView
 * @typedef {import('./ipc-types').NoteRow} NoteRow
 * @typedef {import('./ipc-types').ImportView} ImportView
 * @typedef {import('./ipc-types').NoteView} NoteView
 * @typedef {import('./ipc-types').VersionView} VersionView
 * @typedef {import('./ipc-types').HistoryStep} HistoryStep
 * @typedef {import('./ipc-types').Provenance} Provenance
 * @typedef {import('./ipc-types').Block} Block
 * @typedef {import('./ipc-types').PatientView} PatientView
 * @typedef {import('./ipc-types').CandidateView} CandidateView
 * @typedef {import('./ipc-types').AssignmentView} AssignmentView
 * @typedef {import('./ipc-types').Counts} Counts
 * @typedef {import('./ipc-types').FilterArgs} FilterArgs
 * @typedef {import('./ipc-types').FacetsView} FacetsView
 * @typedef {import('./ipc-types').BulkStatusView} BulkStatusView
 * @typedef {import('./ipc-types').Problem} Problem
 * @typedef {import('./ipc-types').StatusView} StatusView
 * @typedef {import('./ipc-types').DeviceView} DeviceView
 * @typedef {import('./ipc-types').SignInView} SignInView
 * @typedef {import('./ipc-types').Settings} Settings
 * @typedef {import('./ipc-types').Check} Check
 * @typedef {import('./ipc-types').ConnectionReport} ConnectionReport
 * @typedef {import('./ipc-types').NotesChanged} NotesChanged
 * @typedef {import('./ipc-types').SignInEvent} SignInEvent
 * @typedef {import('./ipc-types').LockView} LockView
 * @typedef {{
 *   'notes-changed': NotesChanged,
 *   'sync-status': StatusView,
 *   'sign-in': SignInEvent,
 *   'import-result': ImportView,
 *   'lock-state': LockView,
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
   * `filter` (dates, type, author) is optional.
   * @param {{status: Status|null, patient: string|null, filter?: FilterArgs|null, offset: number, limit: number}} q
   * @returns {Promise<NoteRow[]>}
   */
  listNotes: (q) => call('list_notes', q),
  /**
   * @param {{text: string, status: Status|null, patient: string|null, filter?: FilterArgs|null, limit: number}} q
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
  /** The note's audit trail in words, oldest first. @param {string} uuid @returns {Promise<HistoryStep[]>} */
  noteHistory: (uuid) => call('note_history', { uuid }),
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
  /** The note types and authors present, for the list's filters. @returns {Promise<FacetsView>} */
  noteFacets: () => call('note_facets'),
  /**
   * Many notes to one status in one action; each note's result and the status it had (for undo).
   * @param {string[]} uuids @param {Status} status @returns {Promise<BulkStatusView[]>}
   */
  setStatuses: (uuids, status) => call('set_statuses', { uuids, status }),
  /** Imports many notes, each exactly once; one result per note. @param {string[]} uuids @returns {Promise<ImportView[]>} */
  importNotes: (uuids) => call('import_notes', { uuids }),
  /** Starts the configured sign-in. @returns {Promise<SignInView>} */
  signInStart: () => call('sign_in_start'),
  /** @returns {Promise<void>} */
  signInCancel: () => call('sign_in_cancel'),
  /** @returns {Promise<void>} */
  openVerification: () => call('open_verification'),
  /** With `erase`, also this workstation's inbox and its key (the app restarts). @param {boolean} erase @returns {Promise<void>} */
  signOut: (erase) => call('sign_out', { erase }),
  /** @returns {Promise<void>} */
  syncNow: () => call('sync_now'),
  /** @returns {Promise<Settings>} */
  getSettings: () => call('get_settings'),
  /**
   * Saves; `password` is the import target's, `inboxPassword` the clinic server's (both go to
   * the OS keyring). A new place for the inbox restarts the app.
   * @param {Settings} settings @param {string|null} password @param {string|null} [inboxPassword]
   * @returns {Promise<void>}
   */
  saveSettings: (settings, password, inboxPassword = null) =>
    call('save_settings', { settings, password, inboxPassword }),
  /** @param {Settings} settings @param {string|null} password @returns {Promise<ConnectionReport>} */
  testConnection: (settings, password) => call('test_connection', { settings, password }),
  /**
   * Opens the inbox at `url` ('' is this computer's; postgres://… a clinic server's, with
   * `password` if given) and says in one line whether it works, and as which role.
   * @param {string} url @param {string|null} password @returns {Promise<Check>}
   */
  testInboxConnection: (url, password) => call('test_inbox_connection', { url, password }),
  /** @returns {Promise<void>} */
  startDemo: () => call('start_demo'),
  /** The idle lock: on or off, PIN set, wrong tries. @returns {Promise<LockView>} */
  lockState: () => call('lock_state'),
  /** The Lock button. @returns {Promise<LockView>} */
  lockNow: () => call('lock_now'),
  /** Unlocks with the PIN; a wrong one rejects (`wrong_pin`) and is counted. @param {string} pin @returns {Promise<LockView>} */
  unlock: (pin) => call('unlock', { pin }),
  /** Chooses the unlock PIN (only while unlocked). @param {string} pin @returns {Promise<LockView>} */
  setPin: (pin) => call('set_pin', { pin }),
  /** The person did something (throttled by the caller): postpones the idle lock. @returns {Promise<void>} */
  touch: () => call('touch'),
  /** The practice's patients matching `text` ([patient_search]). @param {string} text @returns {Promise<CandidateView[]>} */
  searchPracticePatients: (text) => call('search_practice_patients', { text }),
  /**
   * Assigns a note to a practice patient, as the search for `search` lists them.
   * @param {string} uuid @param {string} patientId @param {string} search @returns {Promise<AssignmentView>}
   */
  assignPatient: (uuid, patientId, search) => call('assign_patient', { uuid, patientId, search }),
  /** Undoes a note's assignment; false when it had none. @param {string} uuid @returns {Promise<boolean>} */
  unassignPatient: (uuid) => call('unassign_patient', { uuid }),
};

/** @type {Map<string, (payload: any) => unknown>} */
const handlers = new Map();

/**
 * Handles an event from Rust (one handler per event). Events are fetched by `startEvents`,
 * not pushed: Tauri's `emit` evaluates a new script in the web view for each event (why that
 * is avoided: src-tauri/src/events.rs).
 * @template {keyof Events} K
 * @param {K} event
 * @param {(payload: Events[K]) => unknown} handler
 */
export function listen(event, handler) {
  handlers.set(event, handler);
}

/** @param {number} ms */
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the events that happen from now on and hands each to its `listen` handler, in order,
 * for as long as the page lives. Resolves once the starting point is known, so what the page
 * reads after it cannot miss an event. `onMissed` runs when events were dropped (the page fell
 * far behind): what the page shows must be read again. `pauseMs` spaces out retries after a
 * failed fetch (tests shorten it).
 * @param {{ onMissed: () => unknown, onError: (e: CmdError) => void, pauseMs?: number }} opts
 */
export async function startEvents({ onMissed, onError, pauseMs = 1000 }) {
  /** @type {import('./ipc-types').EventBatch} */
  const start = await call('next_events', { after: null });
  const run = async () => {
    let after = start.next;
    for (;;) {
      /** @type {import('./ipc-types').EventBatch} */
      let batch;
      try {
        batch = await call('next_events', { after });
      } catch (e) {
        onError(/** @type {CmdError} */ (e));
        await pause(pauseMs);
        continue;
      }
      after = batch.next;
      if (batch.missed) deliver(onMissed);
      for (const e of batch.events) {
        const h = handlers.get(e.event);
        if (h) deliver(() => h(e.payload));
      }
    }
  };
  /** A failing handler is reported and the events go on. @param {() => unknown} f */
  const deliver = (f) => {
    try {
      Promise.resolve(f()).catch((e) => onError(asError(e)));
    } catch (e) {
      onError(asError(e));
    }
  };
  run();
}
