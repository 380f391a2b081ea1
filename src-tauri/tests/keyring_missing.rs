//! With no keyring to talk to, the desktop says so, with the fix, and refuses to sign in
//! rather than keep tokens anywhere else. (Its own test binary: it points D-Bus nowhere.)
#![allow(clippy::unwrap_used)]

use askara_inbox_desktop::core::{Core, Shell};
use std::sync::Arc;

struct Quiet;
impl Shell for Quiet {
    fn emit(&self, _: &str, _: serde_json::Value) {}
    fn set_title(&self, _: &str) {}
    fn notify(&self, _: &askara_inbox_desktop::notify::Notification) {}
    fn restart(&self) {}
}

#[tokio::test]
async fn a_missing_keyring_is_reported_with_the_fix() {
    // Nothing else runs in this process; no keyring store can connect from here on.
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/askara-test-bus",
    );
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path().to_path_buf(), Arc::new(Quiet))
        .await
        .unwrap();
    let status = core.status_view().await;
    assert!(!status.signed_in);
    let problem = status.problem.unwrap();
    assert_eq!(problem.code, "keyring");
    assert!(
        problem.fix.contains("unlock your desktop keyring"),
        "{}",
        problem.fix
    );
    let e = core.sign_in_start().await.unwrap_err();
    assert_eq!(e.code, "keyring");
    assert!(e.message.contains("GNOME Keyring"), "{}", e.message);
}
