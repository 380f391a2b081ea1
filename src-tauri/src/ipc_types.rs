//! The TypeScript declarations of everything that crosses the IPC bridge, generated from the
//! Rust types (ts-rs) into `ui/ipc-types.d.ts`, which `ui/ipc.js` imports in its JSDoc. The
//! test below fails when the committed file is stale; regenerate it with
//! `ASKARA_WRITE_IPC_TYPES=1 cargo test -p askara-inbox-desktop --lib ipc_types`.

use ts_rs::{Config, TS};

use crate::core::{
    AppInfo, BulkStatusView, Check, ConnectionReport, DeviceView, FacetsView, FilterArgs, LockView,
    NotesChanged, SignInEvent, SignInView, TypeChoice,
};
use crate::error::CmdError;
use crate::status::{ClinicView, Problem, StatusView, TokenStorage};
use crate::views::{
    ChangesSince, ChangesView, Counts, DiffKind, DiffPart, ImportView, NoteRow, NoteStatus,
    NoteView, PatientView, TextPart, VersionView,
};

/// Where the declarations live, relative to this crate.
pub const PATH: &str = "../ui/ipc-types.d.ts";

fn decl<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

/// The whole file.
pub fn render() -> String {
    // Counts and sizes fit a JavaScript number; ts-rs would say `bigint` otherwise.
    let cfg = Config::new().with_large_int("number".to_string());
    let decls = [
        decl::<CmdError>(&cfg),
        decl::<crate::events::UiEvent>(&cfg),
        decl::<crate::events::EventBatch>(&cfg),
        decl::<NoteStatus>(&cfg),
        decl::<TextPart>(&cfg),
        decl::<NoteRow>(&cfg),
        decl::<DiffKind>(&cfg),
        decl::<DiffPart>(&cfg),
        decl::<ChangesSince>(&cfg),
        decl::<ChangesView>(&cfg),
        decl::<app::importing::AttemptResult>(&cfg),
        decl::<app::importing::ConflictReason>(&cfg),
        decl::<ImportView>(&cfg),
        decl::<app::note_text::Block>(&cfg),
        decl::<app::note_text::Inline>(&cfg),
        decl::<app::provenance::Arrival>(&cfg),
        decl::<app::provenance::Author>(&cfg),
        decl::<app::provenance::Recording>(&cfg),
        decl::<app::provenance::Provenance>(&cfg),
        decl::<NoteView>(&cfg),
        decl::<app::history::HistoryStep>(&cfg),
        decl::<VersionView>(&cfg),
        decl::<PatientView>(&cfg),
        decl::<crate::patient_views::CandidateView>(&cfg),
        decl::<crate::patient_views::AssignmentView>(&cfg),
        decl::<Counts>(&cfg),
        decl::<Problem>(&cfg),
        decl::<TokenStorage>(&cfg),
        decl::<ClinicView>(&cfg),
        decl::<StatusView>(&cfg),
        decl::<AppInfo>(&cfg),
        decl::<DeviceView>(&cfg),
        decl::<SignInView>(&cfg),
        decl::<app::settings::SignInMethod>(&cfg),
        decl::<app::Settings>(&cfg),
        decl::<Check>(&cfg),
        decl::<ConnectionReport>(&cfg),
        decl::<NotesChanged>(&cfg),
        decl::<SignInEvent>(&cfg),
        decl::<LockView>(&cfg),
        decl::<FilterArgs>(&cfg),
        decl::<TypeChoice>(&cfg),
        decl::<FacetsView>(&cfg),
        decl::<BulkStatusView>(&cfg),
    ];
    format!(
        "// Generated from the Rust types by src-tauri/src/ipc_types.rs: do not edit.\n\
         // Regenerate: ASKARA_WRITE_IPC_TYPES=1 cargo test -p askara-inbox-desktop --lib ipc_types\n\n{}",
        decls.join("\n")
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn the_committed_ui_types_are_generated_from_the_rust_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(super::PATH);
        let fresh = super::render();
        if std::env::var_os("ASKARA_WRITE_IPC_TYPES").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/ipc-types.d.ts is stale: run ASKARA_WRITE_IPC_TYPES=1 cargo test -p askara-inbox-desktop --lib ipc_types, and commit it"
        );
    }
}
