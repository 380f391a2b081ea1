//! Tauri commands: one-line adapters over [`Core`]. Errors reach the UI as `{code, message}`.

use crate::core::{
    AppInfo, BulkStatusView, ConnectionReport, Core, FacetsView, FilterArgs, LockView, SignInView,
};
use crate::error::CmdError;
use crate::events::{EventBatch, EventQueue};
use crate::status::StatusView;
use crate::views::{Counts, ImportView, NoteRow, NoteView, PatientView, VersionView};
use app::Settings;
use std::sync::Arc;
use tauri::State;
use tauri_plugin_opener::OpenerExt;

type Res<T> = Result<T, CmdError>;
type CoreState<'a> = State<'a, Arc<Core>>;

#[tauri::command]
pub fn app_info(core: CoreState<'_>) -> AppInfo {
    core.info()
}

/// The window's events after `after` (see `events`): waits for one, up to `events::WAIT`.
#[tauri::command]
pub async fn next_events(queue: State<'_, Arc<EventQueue>>, after: Option<u64>) -> Res<EventBatch> {
    Ok(queue.next(after, crate::events::WAIT).await)
}

#[tauri::command]
pub async fn status(core: CoreState<'_>) -> Res<StatusView> {
    Ok(core.status_view().await)
}

/// The list; `filter` (dates, type, author) is optional.
#[tauri::command]
pub async fn list_notes(
    core: CoreState<'_>,
    status: Option<String>,
    patient: Option<String>,
    filter: Option<FilterArgs>,
    offset: usize,
    limit: usize,
) -> Res<Vec<NoteRow>> {
    core.list_filtered(status, patient, filter, offset, limit)
        .await
}

#[tauri::command]
pub async fn search_notes(
    core: CoreState<'_>,
    text: String,
    status: Option<String>,
    patient: Option<String>,
    filter: Option<FilterArgs>,
    limit: usize,
) -> Res<Vec<NoteRow>> {
    core.search_filtered(&text, status, patient, filter, limit)
        .await
}

/// The note types and authors present, for the list's filters.
#[tauri::command]
pub async fn note_facets(core: CoreState<'_>) -> Res<FacetsView> {
    core.facets().await
}

/// Many notes reviewed, dismissed or restored at once; each note's result and previous status.
#[tauri::command]
pub async fn set_statuses(
    core: CoreState<'_>,
    uuids: Vec<String>,
    status: String,
) -> Res<Vec<BulkStatusView>> {
    core.set_statuses(uuids, &status).await
}

/// Many notes imported at once, each exactly once; one result per note.
#[tauri::command]
pub async fn import_notes(core: CoreState<'_>, uuids: Vec<String>) -> Res<Vec<ImportView>> {
    core.import_notes(uuids).await
}

#[tauri::command]
pub async fn get_note(core: CoreState<'_>, uuid: String, query: Option<String>) -> Res<NoteView> {
    core.get(&uuid, query.as_deref()).await
}

#[tauri::command]
pub async fn note_versions(core: CoreState<'_>, uuid: String) -> Res<Vec<VersionView>> {
    core.versions(&uuid).await
}

/// A note's audit trail in words, oldest first.
#[tauri::command]
pub async fn note_history(
    core: CoreState<'_>,
    uuid: String,
) -> Res<Vec<app::history::HistoryStep>> {
    core.note_history(&uuid).await
}

#[tauri::command]
pub async fn counts(core: CoreState<'_>) -> Res<Counts> {
    core.counts().await
}

#[tauri::command]
pub async fn patients(
    core: CoreState<'_>,
    text: Option<String>,
    limit: usize,
) -> Res<Vec<PatientView>> {
    core.patients(text, limit).await
}

#[tauri::command]
pub async fn set_status(core: CoreState<'_>, uuid: String, status: String) -> Res<String> {
    core.set_status(&uuid, &status).await
}

#[tauri::command]
pub async fn import_note(core: CoreState<'_>, uuid: String, allow_update: bool) -> Res<ImportView> {
    core.import_note(&uuid, allow_update).await
}

#[tauri::command]
pub async fn sign_in_start(core: CoreState<'_>) -> Res<SignInView> {
    core.inner().sign_in_start().await
}

#[tauri::command]
pub fn sign_in_cancel(core: CoreState<'_>) {
    core.sign_in_cancel()
}

/// Opens the verification page of the sign-in in progress in the system browser.
#[tauri::command]
pub fn open_verification(app: tauri::AppHandle, core: CoreState<'_>) -> Res<()> {
    app.opener()
        .open_url(core.verification_url()?, None::<&str>)
        .map_err(|e| CmdError::new("opener", format!("cannot open the browser: {e}")))
}

#[tauri::command]
pub async fn sign_out(core: CoreState<'_>, erase: bool) -> Res<()> {
    core.sign_out(erase).await
}

#[tauri::command]
pub async fn sync_now(core: CoreState<'_>) -> Res<()> {
    core.inner().sync_now().await
}

#[tauri::command]
pub fn get_settings(core: CoreState<'_>) -> Settings {
    core.settings()
}

#[tauri::command]
pub async fn save_settings(
    core: CoreState<'_>,
    settings: Settings,
    password: Option<String>,
    inbox_password: Option<String>,
) -> Res<()> {
    core.inner()
        .save_settings(settings, password, inbox_password)
        .await
}

#[tauri::command]
pub async fn test_connection(
    core: CoreState<'_>,
    settings: Settings,
    password: Option<String>,
) -> Res<ConnectionReport> {
    core.test_connection(settings, password).await
}

/// Opens the inbox at `url` (this computer's, or a clinic server's with `password` if given)
/// and says in one line whether it works, and as which role.
#[tauri::command]
pub async fn test_inbox_connection(
    core: CoreState<'_>,
    url: String,
    password: Option<String>,
) -> Res<crate::core::Check> {
    core.test_inbox_connection(url, password).await
}

/// The idle lock: whether it is on, with a PIN set, and the wrong tries.
#[tauri::command]
pub async fn lock_state(core: CoreState<'_>) -> Res<LockView> {
    Ok(core.lock_state().await)
}

/// The Lock button.
#[tauri::command]
pub fn lock_now(core: CoreState<'_>) -> LockView {
    core.lock_now()
}

/// Unlocks with the PIN (a wrong one is counted).
#[tauri::command]
pub async fn unlock(core: CoreState<'_>, pin: String) -> Res<LockView> {
    core.unlock(pin).await
}

/// Chooses the unlock PIN (only while unlocked).
#[tauri::command]
pub async fn set_pin(core: CoreState<'_>, pin: String) -> Res<LockView> {
    core.set_pin(pin).await
}

/// The person did something in the window (sent throttled): postpones the idle lock.
#[tauri::command]
pub fn touch(core: CoreState<'_>) {
    core.touch()
}

/// "Try the demo" on first run: the app starts again in demo mode.
#[tauri::command]
pub fn start_demo(app: tauri::AppHandle) -> Res<()> {
    let exe = std::env::current_exe()
        .map_err(|e| CmdError::new("io", format!("cannot find the app to restart: {e}")))?;
    std::process::Command::new(exe)
        .arg("--demo")
        .spawn()
        .map_err(|e| CmdError::new("io", format!("cannot start the demo: {e}")))?;
    app.exit(0);
    Ok(())
}

#[tauri::command]
pub async fn search_practice_patients(
    core: CoreState<'_>,
    text: String,
) -> Res<Vec<crate::patient_views::CandidateView>> {
    core.search_practice_patients(&text).await
}

#[tauri::command]
pub async fn assign_patient(
    core: CoreState<'_>,
    uuid: String,
    patient_id: String,
    search: String,
) -> Res<crate::patient_views::AssignmentView> {
    core.assign_patient(&uuid, &patient_id, &search).await
}

#[tauri::command]
pub async fn unassign_patient(core: CoreState<'_>, uuid: String) -> Res<bool> {
    core.unassign_patient(&uuid).await
}
