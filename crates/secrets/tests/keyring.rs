//! Against the real OS keyring: `scripts/test.sh` runs the tests inside a private D-Bus session
//! with an unlocked gnome-keyring. Without a session bus (a plain `cargo test` on a headless
//! machine) they say so and pass, unless `ASKARA_REQUIRE_KEYRING=1` demands a keyring.
#![allow(clippy::unwrap_used)]

use askara::{Sensitive, TokenSet, TokenStore};
use secrets::{keyring_or_skip, KeyringPassword, KeyringTokenStore};

fn tokens(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: Sensitive::new(access.to_string()),
        refresh_token: Some(Sensitive::new(refresh.to_string())),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        scopes: vec!["read:notes".into()],
    }
}

#[test]
fn tokens_round_trip_rotate_and_sign_out_in_the_real_keyring() {
    if !keyring_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let account = format!("test-{}|desktop", std::process::id());
    let store = KeyringTokenStore::open(&account, dir.path()).unwrap();
    store.clear().unwrap();
    assert_eq!(store.load().unwrap(), None);

    store.save(&tokens("access-1", "refresh-1")).unwrap();
    // A second handle (another process, in effect) reads what the first wrote.
    let other = KeyringTokenStore::open(&account, dir.path()).unwrap();
    let loaded = other.load().unwrap().unwrap();
    assert_eq!(loaded.refresh_token.unwrap().expose(), "refresh-1");

    // Rotation: the new refresh token replaces the old one, which is gone for good.
    {
        let _lock = store.lock_refresh().unwrap();
        store.save(&tokens("access-2", "refresh-2")).unwrap();
    }
    let rotated = other.load().unwrap().unwrap();
    assert_eq!(rotated.access_token.expose(), "access-2");
    assert_eq!(rotated.refresh_token.unwrap().expose(), "refresh-2");

    // Sign-out clears it, and clearing twice is fine.
    store.clear().unwrap();
    store.clear().unwrap();
    assert_eq!(other.load().unwrap(), None);
}

#[test]
fn a_database_password_is_kept_and_removed() {
    if !keyring_or_skip() {
        return;
    }
    let pw = KeyringPassword::open(&secrets::password_account(&format!(
        "postgres://scribe@db:5432/test-{}",
        std::process::id()
    )))
    .unwrap();
    pw.set(&Sensitive::new("s3cret".to_string())).unwrap();
    assert_eq!(pw.get().unwrap().unwrap().expose(), "s3cret");
    pw.clear().unwrap();
    assert!(pw.get().unwrap().is_none());
}
