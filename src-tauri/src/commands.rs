//! Tauri commands: one-line adapters over [`Core`]. Errors reach the UI as `{code, message}`.

use crate::core::{AppInfo, ConnectionReport, Core, LockView, SignInView};
use crate::error::CmdError;
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

#[tauri::command]
pub async fn status(core: CoreState<'_>) -> Res<StatusView> {
    Ok(core.status_view().await)
}

#[tauri::command]
pub async fn list_notes(
    core: CoreState<'_>,
    status: Option<String>,
    patient: Option<String>,
    offset: usize,
    limit: usize,
) -> Res<Vec<NoteRow>> {
    core.list(status, patient, offset, limit).await
}

#[tauri::command]
pub async fn search_notes(
    core: CoreState<'_>,
    text: String,
    status: Option<String>,
    patient: Option<String>,
    limit: usize,
) -> Res<Vec<NoteRow>> {
    core.search(&text, status, patient, limit).await
}

#[tauri::command]
pub async fn get_note(core: CoreState<'_>, uuid: String, query: Option<String>) -> Res<NoteView> {
    core.get(&uuid, query.as_deref()).await
}

#[tauri::command]
pub async fn note_versions(core: CoreState<'_>, uuid: String) -> Res<Vec<VersionView>> {
    core.versions(&uuid).await
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
) -> Res<()> {
    core.inner().save_settings(settings, password).await
}

#[tauri::command]
pub async fn test_connection(
    core: CoreState<'_>,
    settings: Settings,
    password: Option<String>,
) -> Res<ConnectionReport> {
    core.test_connection(settings, password).await
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
