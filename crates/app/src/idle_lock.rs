//! The idle lock (HIPAA automatic logoff): after a time without activity the front-end hides
//! every note and refuses to read one until the person unlocks, with a PIN they chose or a full
//! Askara sign-in. Plain Rust with the time passed in, so it is tested without a window.
//!
//! - [`IdleLock`]: the state machine, `Unlocked { last_activity }` / `Locked { failed_tries }`.
//! - The PIN: 4–12 digits, kept only as an Argon2id PHC string ([`hash_pin`], [`verify_pin`])
//!   in a [`PinStore`] (the OS keyring; memory for the throwaway demo).
//! - After [`MAX_TRIES`] wrong PINs only a full sign-in unlocks, and the PIN is forgotten: the
//!   person chooses a new one after signing in (so guessing never gets more than five tries
//!   at one PIN, however often the lock comes back).
//! - The timeout: the `idleLockMinutes` setting (default 10, 1–240), unless an IT [`Policy`]
//!   file sets it (`idle_lock_minutes`, or `idle_lock_seconds` for tests and IT), which wins.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use askara::Sensitive;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The default idle time before the lock, in minutes.
pub const DEFAULT_MINUTES: u32 = 10;
/// The idle times a setting may choose, in minutes (0 is not allowed: the lock cannot be off).
pub const MINUTES: RangeInclusive<u32> = 1..=240;
/// Wrong PINs allowed before only a full sign-in unlocks.
pub const MAX_TRIES: u32 = 5;
/// How many digits a PIN has.
pub const PIN_DIGITS: RangeInclusive<usize> = 4..=12;
/// The longest idle time a policy file may set in seconds (that of [`MINUTES`]).
pub const MAX_POLICY_SECS: u64 = 240 * 60;

/// Where the lock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum LockState {
    Unlocked { last_activity: DateTime<Utc> },
    Locked { failed_tries: u32 },
}

/// What a PIN attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The PIN was right: unlocked, the count of wrong tries cleared.
    Unlocked,
    /// Wrong; this many tries remain.
    Wrong { tries_left: u32 },
    /// Wrong, and that was the last try (or there were none left): only a full sign-in
    /// unlocks now, and the PIN must be forgotten.
    SignInRequired,
    /// Not locked: nothing to unlock.
    NotLocked,
}

/// The lock's state machine. Time comes in as arguments; nothing here sleeps or reads a clock.
#[derive(Debug, Clone)]
pub struct IdleLock {
    state: LockState,
    timeout: Duration,
}

impl IdleLock {
    /// Unlocked, the last activity `now`.
    pub fn new(timeout: Duration, now: DateTime<Utc>) -> Self {
        IdleLock {
            state: LockState::Unlocked { last_activity: now },
            timeout: timeout.max(Duration::from_secs(1)),
        }
    }

    /// Locked, as the app was when it last quit (restarting it must not unlock it).
    pub fn locked(timeout: Duration, failed_tries: u32) -> Self {
        IdleLock {
            state: LockState::Locked {
                failed_tries: failed_tries.min(MAX_TRIES),
            },
            timeout: timeout.max(Duration::from_secs(1)),
        }
    }

    pub fn state(&self) -> LockState {
        self.state
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A new idle time (settings saved); counts from the last activity, so a shorter one may
    /// lock at the next [`IdleLock::check`].
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_secs(1));
    }

    pub fn is_locked(&self) -> bool {
        matches!(self.state, LockState::Locked { .. })
    }

    pub fn failed_tries(&self) -> u32 {
        match self.state {
            LockState::Locked { failed_tries } => failed_tries,
            LockState::Unlocked { .. } => 0,
        }
    }

    pub fn tries_left(&self) -> u32 {
        MAX_TRIES.saturating_sub(self.failed_tries())
    }

    /// Locked with no PIN tries left: only a full sign-in unlocks.
    pub fn sign_in_required(&self) -> bool {
        self.is_locked() && self.tries_left() == 0
    }

    /// The person did something (the UI reports input, throttled). Ignored while locked:
    /// typing on the lock screen is not an unlock.
    pub fn activity(&mut self, now: DateTime<Utc>) {
        if let LockState::Unlocked { last_activity } = &mut self.state {
            *last_activity = now;
        }
    }

    /// How long nothing has happened (zero while locked, or when the clock went back).
    pub fn idle_for(&self, now: DateTime<Utc>) -> Duration {
        match self.state {
            LockState::Unlocked { last_activity } => {
                (now - last_activity).to_std().unwrap_or_default()
            }
            LockState::Locked { .. } => Duration::ZERO,
        }
    }

    /// Locks when idle for the timeout or longer; returns whether it locked just now. A
    /// machine that slept past the timeout locks at the first check after it wakes.
    ///
    /// A clock set back (by hand or by time sync) moves the last activity back with it: the
    /// idle time then counts from the jump, so the lock comes no later than one timeout after
    /// it, instead of waiting for the clock to catch up with the old reading.
    pub fn check(&mut self, now: DateTime<Utc>) -> bool {
        if let LockState::Unlocked { last_activity } = &mut self.state {
            if now < *last_activity {
                *last_activity = now;
            }
        }
        if !self.is_locked() && self.idle_for(now) >= self.timeout {
            self.state = LockState::Locked { failed_tries: 0 };
            return true;
        }
        false
    }

    /// Locks at once (the Lock button); returns whether it was unlocked.
    pub fn lock_now(&mut self) -> bool {
        if self.is_locked() {
            return false;
        }
        self.state = LockState::Locked { failed_tries: 0 };
        true
    }

    /// Whether a PIN may be tried now (locked, tries left).
    pub fn may_try_pin(&self) -> bool {
        self.is_locked() && self.tries_left() > 0
    }

    /// The outcome of checking a PIN (`correct`), counted.
    pub fn pin_checked(&mut self, correct: bool, now: DateTime<Utc>) -> Attempt {
        let LockState::Locked { failed_tries } = self.state else {
            return Attempt::NotLocked;
        };
        if failed_tries >= MAX_TRIES {
            return Attempt::SignInRequired;
        }
        if correct {
            self.state = LockState::Unlocked { last_activity: now };
            return Attempt::Unlocked;
        }
        let failed_tries = failed_tries + 1;
        self.state = LockState::Locked { failed_tries };
        match MAX_TRIES - failed_tries {
            0 => Attempt::SignInRequired,
            tries_left => Attempt::Wrong { tries_left },
        }
    }

    /// A full Askara sign-in completed: unlocked, the wrong tries forgotten.
    pub fn signed_in(&mut self, now: DateTime<Utc>) {
        self.state = LockState::Unlocked { last_activity: now };
    }
}

// ------------------------------------------------------------------------------------------
// The PIN

/// 4–12 digits, and not one a passer-by guesses first (one digit repeated, or a run up or
/// down such as 1234 or 9876). The error says what to choose.
pub fn validate_pin(pin: &str) -> Result<(), AppError> {
    let digits: Vec<u32> = pin.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != pin.chars().count() || !PIN_DIGITS.contains(&digits.len()) {
        return Err(AppError::Config(format!(
            "the PIN must be {} to {} digits (0–9 only)",
            PIN_DIGITS.start(),
            PIN_DIGITS.end()
        )));
    }
    let steps: Vec<i64> = digits
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    let run = |d: i64| steps.iter().all(|s| *s == d);
    if run(0) || run(1) || run(-1) {
        return Err(AppError::Config(
            "that PIN is too easy to guess (one digit repeated, or counting up or down): choose another"
                .into(),
        ));
    }
    Ok(())
}

/// The Argon2id PHC string of `pin` (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with a fresh
/// random salt. Deliberately slow (tens of milliseconds): call it off the async runtime.
pub fn hash_pin(pin: &Sensitive<String>) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::Config(format!("cannot make a salt for the PIN: {e}")))?;
    argon2::Argon2::default()
        .hash_password(pin.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Config(format!("cannot hash the PIN: {e}")))
}

/// Whether `pin` matches the PHC string `phc` (its own parameters and salt; constant time).
/// An unreadable `phc` never matches. Slow, like [`hash_pin`].
pub fn verify_pin(pin: &Sensitive<String>, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::warn!("the stored PIN hash is unreadable; a full sign-in is needed");
        return false;
    };
    argon2::Argon2::default()
        .verify_password(pin.expose().as_bytes(), &parsed)
        .is_ok()
}

/// Where the PIN's hash is kept: the OS keyring ([`secrets::KeyringValue`] under
/// [`secrets::pin_account`]), never a file; [`MemoryPinStore`] for the throwaway demo.
/// Blocking (the keyring talks D-Bus): call off the async runtime.
pub trait PinStore: Send + Sync + 'static {
    /// The PHC string, or `None` when no PIN is set. `Err` says what to do.
    fn get(&self) -> Result<Option<String>, String>;
    fn set(&self, phc: &str) -> Result<(), String>;
    fn clear(&self) -> Result<(), String>;
}

impl PinStore for secrets::KeyringValue {
    fn get(&self) -> Result<Option<String>, String> {
        secrets::KeyringValue::get(self).map(|v| v.map(|s| s.expose().clone()))
    }
    fn set(&self, phc: &str) -> Result<(), String> {
        secrets::KeyringValue::set(self, phc)
    }
    fn clear(&self) -> Result<(), String> {
        secrets::KeyringValue::clear(self)
    }
}

/// The PIN hash in memory, gone when the process ends (the demo, tests).
#[derive(Debug, Default)]
pub struct MemoryPinStore(Mutex<Option<String>>);

impl PinStore for MemoryPinStore {
    fn get(&self) -> Result<Option<String>, String> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
    fn set(&self, phc: &str) -> Result<(), String> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(phc.to_string());
        Ok(())
    }
    fn clear(&self) -> Result<(), String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// The IT policy

/// Names a policy file to read as well as the system one (tests, IT trying a value). The
/// shorter idle time of the two wins, so it can make the lock stricter, never laxer.
pub const POLICY_ENV: &str = "ASKARA_INBOX_POLICY_FILE";

/// An IT policy file (`policy.json`): `{ "idle_lock_minutes": N }` (1–240), or
/// `{ "idle_lock_seconds": N }` (1–14400; for tests, and IT wanting less than a minute). It
/// wins over the setting, and the settings pane shows the field read-only. Other keys are
/// left for other policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Policy {
    pub idle_lock_minutes: Option<u32>,
    pub idle_lock_seconds: Option<u64>,
}

/// The system-wide policy file: `/etc/askara-inbox/policy.json` (Linux and other Unix),
/// `%ProgramData%\askara-inbox\policy.json` (Windows), `/Library/Application
/// Support/askara-inbox/policy.json` (macOS).
pub fn system_policy_path() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("ProgramData")
            .map(|d| PathBuf::from(d).join("askara-inbox").join("policy.json"))
    } else if cfg!(target_os = "macos") {
        Some(PathBuf::from(
            "/Library/Application Support/askara-inbox/policy.json",
        ))
    } else {
        Some(PathBuf::from("/etc/askara-inbox/policy.json"))
    }
}

impl Policy {
    /// The policy file at `path`; `None` when there is none. An unreadable or invalid file is
    /// an error naming it.
    pub fn load_from(path: &Path) -> Result<Option<Policy>, AppError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AppError::Config(format!(
                    "cannot read the IT policy file {}: {e}; ask IT to fix its permissions",
                    path.display()
                )))
            }
        };
        let bad = |why: String| {
            AppError::Config(format!(
                "the IT policy file {} is invalid ({why}); ask IT to fix it",
                path.display()
            ))
        };
        let p: Policy = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if let Some(m) = p.idle_lock_minutes {
            if !MINUTES.contains(&m) {
                return Err(bad(format!(
                    "idle_lock_minutes must be {} to {}",
                    MINUTES.start(),
                    MINUTES.end()
                )));
            }
        }
        if let Some(s) = p.idle_lock_seconds {
            if !(1..=MAX_POLICY_SECS).contains(&s) {
                return Err(bad(format!(
                    "idle_lock_seconds must be 1 to {MAX_POLICY_SECS}"
                )));
            }
        }
        Ok(Some(p))
    }

    /// The idle time this file sets, if it sets one (seconds win over minutes).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_lock_seconds.map(Duration::from_secs).or(self
            .idle_lock_minutes
            .map(|m| Duration::from_secs(u64::from(m) * 60)))
    }
}

/// The idle time the policy files force, if any: the shortest of the system file and the one
/// [`POLICY_ENV`] names. A file that cannot be read or is invalid forces the default
/// ([`DEFAULT_MINUTES`]): IT meant to set something, and a broken file must not lift it.
pub fn policy_timeout() -> Option<Duration> {
    let paths = [
        system_policy_path(),
        std::env::var_os(POLICY_ENV).map(PathBuf::from),
    ];
    paths
        .iter()
        .flatten()
        .filter_map(|p| match Policy::load_from(p) {
            Ok(policy) => policy.and_then(|p| p.idle_timeout()),
            Err(e) => {
                tracing::warn!(error = %e, "IT policy file unusable; the idle lock uses the default");
                Some(Duration::from_secs(u64::from(DEFAULT_MINUTES) * 60))
            }
        })
        .min()
}

/// The idle time in force: the policy's when it sets one (`true`: set by IT), else the
/// setting's minutes (kept within [`MINUTES`]).
pub fn effective_timeout(policy: Option<Duration>, setting_minutes: u32) -> (Duration, bool) {
    match policy {
        Some(d) => (d, true),
        None => {
            let m = setting_minutes.clamp(*MINUTES.start(), *MINUTES.end());
            (Duration::from_secs(u64::from(m) * 60), false)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_770_000_000 + secs, 0).unwrap()
    }

    const TEN_MIN: Duration = Duration::from_secs(600);

    #[test]
    fn locks_after_the_idle_time_and_activity_postpones_it() {
        let mut l = IdleLock::new(TEN_MIN, t(0));
        assert!(!l.check(t(599)));
        l.activity(t(300));
        assert!(!l.check(t(899)), "activity at 300 s counts from there");
        assert_eq!(l.idle_for(t(899)), Duration::from_secs(599));
        assert!(l.check(t(900)));
        assert_eq!(l.state(), LockState::Locked { failed_tries: 0 });
        assert!(!l.check(t(2000)), "locked once, not again");
        // Input while locked (typing on the lock screen) does not unlock.
        l.activity(t(2001));
        assert!(l.is_locked());
    }

    #[test]
    fn a_machine_that_slept_locks_at_once_and_a_clock_set_back_does_not_postpone_it() {
        let mut l = IdleLock::new(TEN_MIN, t(0));
        assert!(l.check(t(3 * 3600)), "woke three hours later");
        // Active at 1000, then the clock is set back to 500: the lock comes ten minutes of
        // real time later (at 1100 on the new clock), not when the clock reaches 1600.
        let mut l = IdleLock::new(TEN_MIN, t(1000));
        assert!(!l.check(t(500)));
        assert!(!l.check(t(1099)));
        assert!(l.check(t(1100)));
        // The same with activity reported after the jump.
        let mut l = IdleLock::new(TEN_MIN, t(1000));
        l.activity(t(500));
        assert!(!l.check(t(1099)));
        assert!(l.check(t(1100)));
    }

    #[test]
    fn wrong_pins_are_counted_and_the_fifth_requires_a_full_sign_in() {
        let mut l = IdleLock::new(TEN_MIN, t(0));
        assert_eq!(l.pin_checked(true, t(1)), Attempt::NotLocked);
        assert!(l.lock_now());
        assert!(!l.lock_now());
        assert!(l.may_try_pin());
        for left in (1..MAX_TRIES).rev() {
            assert_eq!(
                l.pin_checked(false, t(2)),
                Attempt::Wrong { tries_left: left }
            );
        }
        assert_eq!(l.failed_tries(), 4);
        assert_eq!(l.pin_checked(false, t(3)), Attempt::SignInRequired);
        assert!(l.sign_in_required() && !l.may_try_pin());
        // Even the right PIN does not unlock now.
        assert_eq!(l.pin_checked(true, t(4)), Attempt::SignInRequired);
        assert!(l.is_locked());
        l.signed_in(t(5));
        assert!(!l.is_locked());
        assert_eq!(l.failed_tries(), 0);
        assert!(
            !l.check(t(5 + 599)),
            "the idle time counts from the sign-in"
        );
    }

    #[test]
    fn the_right_pin_unlocks_and_clears_the_count() {
        let mut l = IdleLock::new(TEN_MIN, t(0));
        l.check(t(600));
        assert_eq!(
            l.pin_checked(false, t(601)),
            Attempt::Wrong { tries_left: 4 }
        );
        assert_eq!(l.pin_checked(true, t(602)), Attempt::Unlocked);
        assert!(!l.is_locked());
        assert!(!l.check(t(602 + 599)));
        l.lock_now();
        assert_eq!(
            l.tries_left(),
            MAX_TRIES,
            "a new lock starts with every try"
        );
    }

    #[test]
    fn restored_locked_keeps_its_count_and_a_new_timeout_applies_at_once() {
        let l = IdleLock::locked(TEN_MIN, 3);
        assert_eq!((l.is_locked(), l.tries_left()), (true, 2));
        assert!(IdleLock::locked(TEN_MIN, 99).sign_in_required());
        let mut l = IdleLock::new(TEN_MIN, t(0));
        l.set_timeout(Duration::from_secs(60));
        assert!(l.check(t(60)));
    }

    #[test]
    fn pins_are_digits_and_not_the_obvious_ones() {
        for ok in ["4827", "2468", "000100", "135792468024"] {
            assert!(validate_pin(ok).is_ok(), "{ok}");
        }
        for bad in ["123", "1234567890123", "12a4", "４８２７", " 4827", ""] {
            let e = validate_pin(bad).unwrap_err().to_string();
            assert!(e.contains("4 to 12 digits"), "{bad}: {e}");
        }
        for weak in ["0000", "1234", "98765", "5555555"] {
            let e = validate_pin(weak).unwrap_err().to_string();
            assert!(e.contains("too easy"), "{weak}: {e}");
        }
    }

    #[test]
    fn the_pin_is_kept_as_an_argon2id_phc_string_with_a_random_salt() {
        let pin = Sensitive::new("4827".to_string());
        let a = hash_pin(&pin).unwrap();
        let b = hash_pin(&pin).unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert!(!a.contains("4827"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_pin(&pin, &a) && verify_pin(&pin, &b));
        assert!(!verify_pin(&Sensitive::new("4828".into()), &a));
        assert!(!verify_pin(&pin, "not a phc string"));
        let store = MemoryPinStore::default();
        assert_eq!(store.get().unwrap(), None);
        store.set(&a).unwrap();
        assert_eq!(store.get().unwrap().as_deref(), Some(a.as_str()));
        store.clear().unwrap();
        assert_eq!(store.get().unwrap(), None);
    }

    #[test]
    fn a_policy_file_wins_over_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("policy.json");
        assert_eq!(Policy::load_from(&p).unwrap(), None, "no file, no policy");
        std::fs::write(&p, r#"{"idle_lock_minutes": 5, "retention_days": 30}"#).unwrap();
        let policy = Policy::load_from(&p).unwrap().unwrap();
        assert_eq!(policy.idle_timeout(), Some(Duration::from_secs(300)));
        assert_eq!(
            effective_timeout(policy.idle_timeout(), 60),
            (Duration::from_secs(300), true)
        );
        std::fs::write(&p, r#"{"idle_lock_minutes": 5, "idle_lock_seconds": 4}"#).unwrap();
        let policy = Policy::load_from(&p).unwrap().unwrap();
        assert_eq!(policy.idle_timeout(), Some(Duration::from_secs(4)));
        for bad in [
            r#"{"idle_lock_minutes": 0}"#,
            r#"{"idle_lock_minutes": 241}"#,
            r#"{"idle_lock_seconds": 0}"#,
            r#"{"idle_lock_minutes": "ten"}"#,
            "{not json",
        ] {
            std::fs::write(&p, bad).unwrap();
            let e = Policy::load_from(&p).unwrap_err();
            assert_eq!(e.code(), "config");
            assert!(e.to_string().contains("ask IT"), "{e}");
        }
        // No policy: the setting, kept within 1–240 minutes.
        assert_eq!(effective_timeout(None, DEFAULT_MINUTES), (TEN_MIN, false));
        assert_eq!(effective_timeout(None, 0), (Duration::from_secs(60), false));
    }
}
