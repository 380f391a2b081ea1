fn main() {
    // Listing the app's commands makes each one a permission (`allow-<command>`), so the
    // capability in `capabilities/main.json` grants exactly what the UI uses.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "next_events",
            "status",
            "list_notes",
            "search_notes",
            "get_note",
            "note_versions",
            "note_history",
            "counts",
            "patients",
            "set_status",
            "import_note",
            "note_facets",
            "set_statuses",
            "import_notes",
            "sign_in_start",
            "sign_in_cancel",
            "open_verification",
            "sign_out",
            "sync_now",
            "get_settings",
            "save_settings",
            "test_connection",
            "test_inbox_connection",
            "start_demo",
            "lock_state",
            "lock_now",
            "unlock",
            "set_pin",
            "touch",
            "needs_patient",
            "search_practice_patients",
            "assign_patient",
            "unassign_patient",
        ]),
    ))
    .unwrap_or_else(|e| panic!("tauri build: {e:#}"));
}
