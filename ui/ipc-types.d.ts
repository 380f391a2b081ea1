// Generated from the Rust types by src-tauri/src/ipc_types.rs: do not edit.
// Regenerate: ASKARA_WRITE_IPC_TYPES=1 cargo test -p askara-inbox-desktop --lib ipc_types

export type CmdError = { code: string, message: string, };

export type UiEvent = { seq: number, event: string, payload: unknown, };

export type EventBatch = { events: Array<UiEvent>, next: number, missed: boolean, };

export type NoteStatus = "new" | "reviewed" | "imported" | "dismissed" | "revised";

export type TextPart = { text: string, hit: boolean, };

export type NoteRow = { uuid: string, patientName: string, patientUuid: string | null, 
/**
 * The two identifiers beside the name (`born 1984-03-02 · ID 10023`, `born: not given`);
 * empty for a note without a patient.
 */
patientIdentifiers: string, patientDateOfBirth: string | null, patientExternalId: string | null, typeLabel: string, createdAt: string, status: NoteStatus, 
/**
 * `false`: a webhook payload stored as delivered, never confirmed by Askara's API.
 */
verified: boolean, 
/**
 * In search results: the patient name with the matched words marked.
 */
nameParts?: Array<TextPart>, 
/**
 * In search results: the content around its first match, on one line.
 */
snippet?: Array<TextPart>, };

export type DiffKind = "same" | "added" | "removed";

export type DiffPart = { kind: DiffKind, text: string, };

export type ChangesSince = "imported" | "previous";

export type ChangesView = { since: ChangesSince, 
/**
 * When that earlier version was last updated in Askara.
 */
sinceUpdatedAt: string, parts: Array<DiffPart>, };

export type AttemptResult = "imported" | "unchanged" | "updated" | "conflict" | "dry_run" | "error";

export type ConflictReason = "content" | "patient";

export type ImportView = { uuid: string, result: AttemptResult, target: string, importedAt: string | null, importedBy: string | null, error: CmdError | null, 
/**
 * A conflict: revised since (`content`) or filed under another patient (`patient`).
 */
conflict: ConflictReason | null, 
/**
 * A `patient` conflict: the patient id the practice database files the note under.
 */
heldPatient: string | null, };

export type Block = { "kind": "heading", level: number, inlines: Array<Inline>, } | { "kind": "paragraph", inlines: Array<Inline>, } | { "kind": "list", ordered: boolean, start: number | null, items: Array<Array<Block>>, } | { "kind": "code", text: string, } | { "kind": "rule" };

export type Inline = { "kind": "text", text: string, } | { "kind": "mark", text: string, } | { "kind": "strong", inlines: Array<Inline>, } | { "kind": "emphasis", inlines: Array<Inline>, } | { "kind": "code", text: string, } | { "kind": "break" };

export type Arrival = "poll" | "webhook";

export type Author = { uuid: string | null, 
/**
 * "First Last", from what Askara gave.
 */
name: string | null, email: string | null, };

export type Recording = { uuid: string | null, 
/**
 * The audio's `recordedAt`, else its `createdAt`.
 */
recordedAt: string | null, durationSecs: number | null, };

export type Provenance = { author: Author | null, recording: Recording | null, 
/**
 * When this inbox first stored the note.
 */
arrivedAt: string, arrival: Arrival, 
/**
 * `true`: the content is what Askara's API returned; `false`: a webhook payload as
 * delivered, never confirmed.
 */
verified: boolean, };

export type NoteView = { uuid: string, patientName: string, patientUuid: string | null, patientExternalId: string | null, patientDateOfBirth: string | null, 
/**
 * As in the list: `born 1984-03-02 · ID 10023`; empty without a patient.
 */
patientIdentifiers: string, 
/**
 * The practice patient a person assigned the note to, if any.
 */
assignment: AssignmentView | null, 
/**
 * No patient, a partial one, or none matched at the last import: "Needs patient".
 */
needsPatient: boolean, 
/**
 * The mapping has a `[patient_search]`: "Assign to patient…" is offered.
 */
canAssign: boolean, noteType: string | null, typeLabel: string, content: string, createdAt: string, updatedAt: string, status: NoteStatus, 
/**
 * `false`: a webhook payload stored as delivered, never confirmed by Askara's API.
 */
verified: boolean, 
/**
 * The Askara user who recorded the note, when a delivery named them.
 */
authorUserId: string | null, 
/**
 * How many earlier versions Askara replaced.
 */
versions: number, 
/**
 * The latest import attempt, if any.
 */
lastImport: ImportView | null, 
/**
 * With a search: the content with the matched words marked (absent when nothing matched).
 */
contentParts?: Array<TextPart>, 
/**
 * For a note Askara revised: what changed since the imported (or previous) version.
 */
changes?: ChangesView, 
/**
 * The content as formatted text: Askara's Markdown as a tree the UI builds elements
 * from (never HTML); with a search, the matched words marked.
 */
text: Array<Block>, 
/**
 * Who recorded the note and how it reached this inbox, as far as anyone said.
 */
provenance: Provenance, };

export type HistoryStep = { at: string, 
/**
 * As recorded: `askara:<email or id>`, `os:<account>`, `sync`, `retention`.
 */
actor: string, 
/**
 * The actor for people: the Askara user or OS account without its prefix, or what the
 * app did by itself.
 */
actorLabel: string, 
/**
 * As recorded (`received`, `status_changed`, `import`, `read`, ...).
 */
action: string, 
/**
 * What happened, in words.
 */
words: string, };

export type VersionView = { typeLabel: string, content: string, updatedAt: string, 
/**
 * When Askara's newer version arrived.
 */
replacedAt: string, };

export type PatientView = { uuid: string, name: string, externalId: string | null, dateOfBirth: string | null, 
/**
 * `born 1984-03-02 · ID 10023`, or `born: not given`.
 */
identifiers: string, noteCount: number, };

export type CandidateView = { 
/**
 * The practice's own patient id (what the import writes).
 */
id: string, name: string, dateOfBirth: string | null, externalId: string | null, 
/**
 * `born 1984-03-02 · ID 10023` (the external id, else the practice id), or
 * `born: not given · ID …`: always two identifiers besides the name.
 */
identifiers: string, };

export type AssignmentView = { patientId: string, 
/**
 * `Haugen, Ørjan · born 1984-03-02 · ID 10023`, as the person confirmed it.
 */
patient: string, target: string, assignedBy: string, assignedAt: string, };

export type Counts = { all: number, new: number, reviewed: number, imported: number, dismissed: number, revised: number, 
/**
 * Notes in "Needs patient" (they are in the counts above too).
 */
needsPatient: number, };

export type Problem = { code: string, 
/**
 * What is wrong, in words.
 */
summary: string, 
/**
 * What to do about it.
 */
fix: string, 
/**
 * `rate_limited`: Askara accepts requests again at this instant (the UI shows it in the
 * user's timezone). `unreachable` and server errors: the next attempt.
 */
until?: string, 
/**
 * The UI offers "Sign in again" for these.
 */
needsSignIn: boolean, };

export type TokenStorage = "keyring" | "memory";

export type ClinicView = { 
/**
 * The server, as displayed (never a password).
 */
server: string, 
/**
 * The PostgreSQL role this desk acts as (the audit trail's name for it), once connected.
 */
role: string | null, 
/**
 * Listening for the server's changes: what the window shows is current.
 */
connected: boolean, 
/**
 * The clinic server that polls Askara (`role@host`), as it last said.
 */
poller: string | null, 
/**
 * When that poller last wrote its status.
 */
pollerWrittenAt: string | null, 
/**
 * The poller stopped writing: the clinic server's sync is not running.
 */
stale: boolean, };

export type StatusView = { demo: boolean, signedIn: boolean, 
/**
 * Who the tokens act for, when Askara said (`GET /me`).
 */
account: string | null, tokenExpiresAt: string | null, tokenStorage: TokenStorage, syncing: boolean, lastSyncAt: string | null, nextPollAt: string | null, lastNew: number, 
/**
 * The import target as displayed (never a password); empty when none is set.
 */
target: string, problem: Problem | null, 
/**
 * Clinic mode: the shared inbox this desk works in. The sync figures above are then the
 * clinic server's poller's, as it published them; this desk never polls Askara.
 */
clinic: ClinicView | null, };

export type AppInfo = { version: string, demo: boolean, firstRun: boolean, dataDir: string, 
/**
 * Working in a clinic's shared inbox (clinic mode) rather than this computer's.
 */
clinic: boolean, 
/**
 * What chose where the inbox is instead of the setting (`--inbox`, `ASKARA_INBOX_URL`);
 * `None`: the setting did. Settings then shows it read-only.
 */
inboxSetBy: string | null, };

export type DeviceView = { userCode: string, verificationUri: string, verificationUriComplete: string | null, expiresAt: string, };

export type SignInView = { "method": "device" } & DeviceView | { "method": "browser", authorizeUrl: string, };

export type SignInMethod = "device" | "browser";

export type Settings = { baseUrl: string, clientId: string, 
/**
 * Empty: `{baseUrl}/oauth2/token`.
 */
tokenUrl: string, 
/**
 * Empty: `{baseUrl}/oauth2/device-code`.
 */
deviceUrl: string, 
/**
 * Empty: Askara's (`https://app.askara.ai/authorize` for production).
 */
authorizeUrl: string, signInMethod: SignInMethod, 
/**
 * Space- or list-separated.
 */
scopes: Array<string>, 
/**
 * Token requests as JSON (Askara's documentation) or as a form (RFC 6749, some proxies).
 */
tokenBody: "json" | "form", intervalSecs: number, 
/**
 * `sqlite:/path/practice.db` or `postgres://user@host/db?sslmode=verify-full` (no password).
 */
importTarget: string, 
/**
 * A mapping TOML onto an existing practice table; empty: the default `askara_notes` table.
 */
mappingFile: string, 
/**
 * A desktop notification when notes arrive (how many, never whose).
 */
notifyNewNotes: boolean, 
/**
 * Days an imported or dismissed note stays in the local inbox (`crate::retention`).
 */
retentionDays: number, 
/**
 * Minutes without activity before the desktop locks (1–240; an IT policy file wins).
 */
idleLockMinutes: number, 
/**
 * Closing the window hides it to the tray; polling, notifications and imports go on.
 * `false`: closing the window quits.
 */
closeToTray: boolean, 
/**
 * Start the desktop app (hidden in the tray) when this user logs in (`crate::autostart`).
 */
startAtLogin: boolean, 
/**
 * Empty: this computer's own inbox in the data dir (the default). A clinic's shared inbox:
 * `postgres://user@host:5432/database?sslmode=verify-full` (no password: it goes to the
 * keyring, as an import target's).
 */
inboxUrl: string, };

export type Check = { ok: boolean, message: string, };

export type ConnectionReport = { askara: Check, target: Check | null, };

export type NotesChanged = { reason: string, };

export type SignInEvent = { "state": "signed_in" } | { "state": "failed", error: CmdError, };

export type LockView = { locked: boolean, 
/**
 * A PIN is set on this computer; without one only a full sign-in unlocks.
 */
pinSet: boolean, failedTries: number, triesLeft: number, 
/**
 * Too many wrong PINs: only a full Askara sign-in unlocks.
 */
signInRequired: boolean, 
/**
 * Seconds without activity before the lock.
 */
idleSecs: number, 
/**
 * The idle time comes from the IT policy file; the setting does not apply.
 */
setByPolicy: boolean, 
/**
 * The PIN cannot be read or kept (the keyring), in words with the fix.
 */
problem: string | null, };

export type FilterArgs = { since: string | null, until: string | null, noteType: string | null, author: string | null, 
/**
 * Only notes in "Needs patient".
 */
needsPatient: boolean, };

export type TypeChoice = { 
/**
 * As Askara names it, what the filter matches.
 */
value: string, 
/**
 * As the list shows it.
 */
label: string, };

export type FacetsView = { noteTypes: Array<TypeChoice>, 
/**
 * Askara user ids.
 */
authors: Array<string>, };

export type BulkStatusView = { uuid: string, 
/**
 * The status before (what undo restores); `None` when the note was not found.
 */
from: NoteStatus | null, 
/**
 * False when it already had that status, or was refused (`error`).
 */
changed: boolean, error: CmdError | null, };
