//! The idle lock (HIPAA automatic logoff) in the desktop: the state machine of
//! [`app::idle_lock`] with the clock, the PIN's keyring entry, the IT policy and the window.
//!
//! - After the idle time (setting `idleLockMinutes`, default 10; an IT policy file wins) a
//!   background step locks; `lock-state` tells the UI, which removes every note, name and
//!   search from the page. The lock also comes from the Lock button ([`Core::lock_now`]).
//! - While locked, every command that reads or changes a note refuses with code `locked`
//!   ([`Core::unlocked`], called by the note methods). Counts, status, sign-in and syncing go
//!   on: polling and imports in progress keep running, notifications say counts only.
//! - Unlocking: the PIN (4–12 digits, its Argon2id hash in the keyring under
//!   [`secrets::pin_account`]; memory in the demo), checked one attempt at a time on a blocking
//!   thread; after [`app::idle_lock::MAX_TRIES`] wrong ones the PIN is forgotten and only a full
//!   Askara sign-in unlocks, after which the person chooses a new PIN. A completed sign-in
//!   always unlocks.
//! - A PIN is set only while unlocked: a passer-by at a locked window cannot choose one.
//! - The lock outlives the app: `DIR/lock.json` (0600) says it is locked (and the wrong
//!   tries), so quitting and starting again does not unlock; with a PIN set the app always
//!   starts locked.

#[allow(unused_imports)]
use super::*;
use app::idle_lock::{self, Attempt, IdleLock, PinStore};
use askara::SharedClock;
use std::time::Duration;

/// `lock-state`, and the answer of the lock commands: what the lock screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    pub locked: bool,
    /// A PIN is set on this computer; without one only a full sign-in unlocks.
    pub pin_set: bool,
    pub failed_tries: u32,
    pub tries_left: u32,
    /// Too many wrong PINs: only a full Askara sign-in unlocks.
    pub sign_in_required: bool,
    /// Seconds without activity before the lock.
    pub idle_secs: u64,
    /// The idle time comes from the IT policy file; the setting does not apply.
    pub set_by_policy: bool,
    /// The PIN cannot be read or kept (the keyring), in words with the fix.
    pub problem: Option<String>,
}

/// What `DIR/lock.json` holds while the app is locked.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marker {
    failed_tries: u32,
}

/// The lock's state, kept in [`Core`].
pub(super) struct LockKeeper {
    machine: Mutex<IdleLock>,
    clock: Mutex<SharedClock>,
    pins: Mutex<Arc<dyn PinStore>>,
    /// Whether a PIN is set (the keyring is slow to ask); `None` until asked.
    pin_set: Mutex<Option<bool>>,
    problem: Mutex<Option<String>>,
    /// The idle time the IT policy forces, if it does.
    policy: Option<Duration>,
    /// One PIN check at a time, so guesses sent in parallel are each counted.
    attempt: tokio::sync::Mutex<()>,
    marker: PathBuf,
}

impl LockKeeper {
    /// Unlocked, unless the app quit locked (`DIR/lock.json`). The demo keeps its PIN in
    /// memory (its data dir is thrown away on exit); otherwise the keyring.
    pub(super) fn new(data_dir: &Path, settings: &Settings, demo: bool) -> LockKeeper {
        let policy = idle_lock::policy_timeout();
        let (timeout, _) = idle_lock::effective_timeout(policy, settings.idle_lock_minutes);
        let clock: SharedClock = Arc::new(SystemClock);
        let marker = data_dir.join("lock.json");
        let machine = match std::fs::read(&marker) {
            Ok(b) => {
                // An unreadable marker still means locked: the safe side.
                let tries = serde_json::from_slice::<Marker>(&b)
                    .map(|m| m.failed_tries)
                    .unwrap_or(0);
                IdleLock::locked(timeout, tries)
            }
            Err(_) => IdleLock::new(timeout, clock.now()),
        };
        let pins: Arc<dyn PinStore> = if demo {
            Arc::new(idle_lock::MemoryPinStore::default())
        } else {
            Arc::new(KeyringPin(secrets::pin_account(data_dir)))
        };
        // With a PIN set the app starts locked: removing `lock.json` and restarting the app
        // must not be a way past the lock.
        let machine = match pins.get() {
            Ok(Some(_)) if !machine.is_locked() => {
                IdleLock::locked(timeout, machine.failed_tries())
            }
            _ => machine,
        };
        LockKeeper {
            machine: Mutex::new(machine),
            clock: Mutex::new(clock),
            pins: Mutex::new(pins),
            pin_set: Mutex::new(None),
            problem: Mutex::new(None),
            policy,
            attempt: tokio::sync::Mutex::new(()),
            marker,
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        lock(&self.clock).now()
    }

    fn pins(&self) -> Arc<dyn PinStore> {
        lock(&self.pins).clone()
    }

    /// Writes or removes `DIR/lock.json` to match the state. Best effort: a data dir that
    /// cannot be written has bigger problems, said elsewhere.
    fn persist(&self, machine: &IdleLock) {
        let result = if machine.is_locked() {
            let m = Marker {
                failed_tries: machine.failed_tries(),
            };
            secrets::write_private(&self.marker, &serde_json::to_vec(&m).unwrap_or_default())
        } else {
            match std::fs::remove_file(&self.marker) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                r => r,
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record the lock state in the data dir");
        }
    }

    fn check_every(&self) -> Duration {
        (lock(&self.machine).timeout() / 4)
            .clamp(Duration::from_millis(250), Duration::from_secs(5))
    }
}

/// The PIN hash in the keyring, the entry opened for each use (the keyring may start or
/// unlock while the app runs).
struct KeyringPin(String);

impl PinStore for KeyringPin {
    fn get(&self) -> Result<Option<String>, String> {
        PinStore::get(&secrets::KeyringValue::open(&self.0)?)
    }
    fn set(&self, phc: &str) -> Result<(), String> {
        PinStore::set(&secrets::KeyringValue::open(&self.0)?, phc)
    }
    fn clear(&self) -> Result<(), String> {
        PinStore::clear(&secrets::KeyringValue::open(&self.0)?)
    }
}

impl CmdError {
    /// A note command while the idle lock is on.
    pub fn locked() -> Self {
        CmdError::new(
            "locked",
            "Askara Inbox is locked: unlock it with your PIN or sign in with Askara",
        )
    }
}

fn sign_in_required() -> CmdError {
    CmdError::new(
        "sign_in_required",
        "Too many wrong PINs: sign in with Askara to unlock, then choose a new PIN",
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CmdError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CmdError::new("internal", format!("the PIN check stopped: {e}")))
}

impl Core {
    /// Refuses with `locked` while the idle lock is on (locking first if the idle time is up,
    /// so a command that comes before the next background check is refused too).
    pub(super) fn unlocked(&self) -> Result<(), CmdError> {
        self.check_idle();
        if lock(&self.idle.machine).is_locked() {
            return Err(CmdError::locked());
        }
        Ok(())
    }

    /// The lock screen's view (asks the keyring whether a PIN is set, the first time).
    pub async fn lock_state(&self) -> LockView {
        self.check_idle();
        if lock(&self.idle.pin_set).is_none() {
            self.refresh_pin_set().await;
        }
        self.lock_view()
    }

    async fn refresh_pin_set(&self) {
        let pins = self.idle.pins();
        match blocking(move || pins.get()).await {
            Ok(Ok(phc)) => {
                *lock(&self.idle.pin_set) = Some(phc.is_some());
                *lock(&self.idle.problem) = None;
            }
            Ok(Err(e)) | Err(CmdError { message: e, .. }) => {
                tracing::warn!(error = %e, "cannot read the unlock PIN");
                *lock(&self.idle.pin_set) = Some(false);
                *lock(&self.idle.problem) = Some(e);
            }
        }
    }

    fn lock_view(&self) -> LockView {
        let m = lock(&self.idle.machine).clone();
        self.view_of(&m)
    }

    fn view_of(&self, m: &IdleLock) -> LockView {
        LockView {
            locked: m.is_locked(),
            pin_set: lock(&self.idle.pin_set).unwrap_or(false),
            failed_tries: m.failed_tries(),
            tries_left: m.tries_left(),
            sign_in_required: m.sign_in_required(),
            idle_secs: m.timeout().as_secs().max(1),
            set_by_policy: self.idle.policy.is_some(),
            problem: lock(&self.idle.problem).clone(),
        }
    }

    fn publish_lock(&self) {
        self.shell.emit("lock-state", event_json(&self.lock_view()));
    }

    /// The person did something in the window (the UI reports input, throttled).
    pub fn touch(&self) {
        let now = self.idle.now();
        lock(&self.idle.machine).activity(now);
    }

    /// The background step: locks when the idle time is up; returns whether it locked now.
    pub fn check_idle(&self) -> bool {
        let now = self.idle.now();
        let locked = {
            let mut m = lock(&self.idle.machine);
            let locked = m.check(now);
            if locked {
                self.idle.persist(&m);
            }
            locked
        };
        if locked {
            tracing::info!("idle: locked");
            self.publish_lock();
        }
        locked
    }

    /// The Lock button.
    pub fn lock_now(&self) -> LockView {
        let locked = {
            let mut m = lock(&self.idle.machine);
            let locked = m.lock_now();
            if locked {
                self.idle.persist(&m);
            }
            locked
        };
        if locked {
            tracing::info!("locked by the user");
            self.publish_lock();
        }
        self.lock_view()
    }

    /// Unlocks with the PIN. A wrong one is counted (`wrong_pin`, saying how many tries are
    /// left); the last wrong one forgets the PIN (`sign_in_required`).
    pub async fn unlock(&self, pin: String) -> Result<LockView, CmdError> {
        let pin = Sensitive::new(pin);
        let _one_at_a_time = self.idle.attempt.lock().await;
        {
            let m = lock(&self.idle.machine);
            if !m.is_locked() {
                return Ok(self.view_of(&m));
            }
            if !m.may_try_pin() {
                return Err(sign_in_required());
            }
        }
        let pins = self.idle.pins();
        let stored = blocking(move || pins.get()).await?.map_err(|e| {
            *lock(&self.idle.problem) = Some(e.clone());
            CmdError::keyring(e)
        })?;
        let Some(phc) = stored else {
            *lock(&self.idle.pin_set) = Some(false);
            self.publish_lock();
            return Err(CmdError::new(
                "no_pin",
                "No unlock PIN is set on this computer: sign in with Askara to unlock",
            ));
        };
        let correct = blocking(move || idle_lock::verify_pin(&pin, &phc)).await?;
        let now = self.idle.now();
        let outcome = {
            let mut m = lock(&self.idle.machine);
            let outcome = m.pin_checked(correct, now);
            self.idle.persist(&m);
            outcome
        };
        match outcome {
            Attempt::Unlocked | Attempt::NotLocked => {
                tracing::info!("unlocked with the PIN");
                self.publish_lock();
                Ok(self.lock_view())
            }
            Attempt::Wrong { tries_left } => {
                tracing::info!(tries_left, "wrong unlock PIN");
                self.publish_lock();
                Err(CmdError::new(
                    "wrong_pin",
                    format!(
                        "Wrong PIN: {tries_left} {} left, then only a full Askara sign-in unlocks",
                        if tries_left == 1 { "try" } else { "tries" }
                    ),
                ))
            }
            Attempt::SignInRequired => {
                tracing::warn!("too many wrong unlock PINs: the PIN is forgotten");
                let pins = self.idle.pins();
                match blocking(move || pins.clear()).await? {
                    Ok(()) => *lock(&self.idle.pin_set) = Some(false),
                    Err(e) => tracing::warn!(error = %e, "cannot remove the unlock PIN"),
                }
                self.publish_lock();
                Err(sign_in_required())
            }
        }
    }

    /// Chooses the unlock PIN (4–12 digits, not an obvious one). Only while unlocked.
    pub async fn set_pin(&self, pin: String) -> Result<LockView, CmdError> {
        self.unlocked()?;
        idle_lock::validate_pin(&pin).map_err(|e| CmdError::new("invalid_pin", e.to_string()))?;
        let pin = Sensitive::new(pin);
        let phc = blocking(move || idle_lock::hash_pin(&pin)).await??;
        let pins = self.idle.pins();
        blocking(move || pins.set(&phc))
            .await?
            .map_err(CmdError::keyring)?;
        *lock(&self.idle.pin_set) = Some(true);
        *lock(&self.idle.problem) = None;
        self.touch();
        tracing::info!("unlock PIN set");
        self.publish_lock();
        Ok(self.lock_view())
    }

    pub(super) fn is_locked(&self) -> bool {
        lock(&self.idle.machine).is_locked()
    }

    /// A full Askara sign-in completed: that unlocks, and clears the wrong tries.
    pub(super) fn unlock_after_sign_in(&self) {
        let now = self.idle.now();
        let was_locked = {
            let mut m = lock(&self.idle.machine);
            let was = m.is_locked();
            m.signed_in(now);
            self.idle.persist(&m);
            was
        };
        if was_locked {
            tracing::info!("unlocked by a full sign-in");
            self.publish_lock();
        }
    }

    /// Settings saved: the new idle time applies, unless the IT policy sets it.
    pub(super) fn apply_idle_setting(&self, minutes: u32) {
        let (timeout, _) = idle_lock::effective_timeout(self.idle.policy, minutes);
        lock(&self.idle.machine).set_timeout(timeout);
        self.check_idle();
    }

    /// Checks the idle time every few seconds (a quarter of it, 250 ms to 5 s) for as long as
    /// the core lives; and learns whether a PIN is set.
    pub(super) fn start_idle_watch(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            if let Some(core) = me.upgrade() {
                core.refresh_pin_set().await;
            }
            loop {
                let Some(core) = me.upgrade() else { break };
                core.check_idle();
                let every = core.idle.check_every();
                drop(core);
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Tests: time from this clock instead of the system's.
    pub fn use_clock(&self, clock: SharedClock) {
        let now = clock.now();
        *lock(&self.idle.clock) = clock;
        lock(&self.idle.machine).activity(now);
    }

    /// Tests and embedders: keep the PIN's hash here instead of the keyring.
    pub fn use_pin_store(&self, store: Arc<dyn PinStore>) {
        *lock(&self.idle.pins) = store;
        *lock(&self.idle.pin_set) = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use askara::ManualClock;

    #[derive(Default)]
    struct Events(Mutex<Vec<(String, Value)>>);
    impl Shell for Events {
        fn emit(&self, event: &str, payload: Value) {
            lock(&self.0).push((event.to_string(), payload));
        }
        fn set_title(&self, _: &str) {}
        fn notify(&self, _: &crate::notify::Notification) {}
        fn restart(&self) {}
    }
    impl Events {
        fn locks(&self) -> Vec<Value> {
            lock(&self.0)
                .iter()
                .filter(|(e, _)| e == "lock-state")
                .map(|(_, p)| p.clone())
                .collect()
        }
    }

    async fn core(dir: &Path) -> (Arc<Core>, Arc<Events>, ManualClock) {
        let events = Arc::new(Events::default());
        let core = Core::open(dir.to_path_buf(), events.clone()).await.unwrap();
        let clock = ManualClock::new(chrono::Utc::now());
        core.use_clock(Arc::new(clock.clone()));
        core.use_pin_store(Arc::new(idle_lock::MemoryPinStore::default()));
        (core, events, clock)
    }

    #[tokio::test]
    async fn idle_time_locks_and_note_commands_refuse_until_the_pin_unlocks() {
        let dir = tempfile::tempdir().unwrap();
        let (core, events, clock) = core(dir.path()).await;
        assert!(!core.lock_state().await.pin_set);
        assert_eq!(core.lock_state().await.idle_secs, 600);
        core.set_pin("4827".into()).await.unwrap();
        assert_eq!(
            core.set_pin("1234".into()).await.unwrap_err().code,
            "invalid_pin"
        );
        assert!(core.list(None, None, 0, 10).await.is_ok());

        clock.advance(Duration::from_secs(599));
        assert!(!core.check_idle());
        core.touch();
        clock.advance(Duration::from_secs(599));
        assert!(!core.check_idle(), "activity postponed it");
        clock.advance(Duration::from_secs(1));
        assert!(core.check_idle());
        let last = events.locks().pop().unwrap();
        assert_eq!(
            (last["locked"].clone(), last["pinSet"].clone()),
            (true.into(), true.into())
        );
        assert!(dir.path().join("lock.json").exists());

        // Every note command refuses; counts (what notifications say) still answer.
        let refused = [
            core.list(None, None, 0, 10).await.map(|_| ()),
            core.search("a", None, None, 10).await.map(|_| ()),
            core.get("x", None).await.map(|_| ()),
            core.versions("x").await.map(|_| ()),
            core.patients(None, 10).await.map(|_| ()),
            core.set_status("x", "reviewed").await.map(|_| ()),
            core.import_note("x", false).await.map(|_| ()),
            core.set_pin("4827".into()).await.map(|_| ()),
        ];
        for r in refused {
            assert_eq!(r.unwrap_err().code, "locked");
        }
        assert!(core.counts().await.is_ok());
        core.touch();
        assert!(
            core.lock_state().await.locked,
            "input on the lock screen does not unlock"
        );

        let e = core.unlock("4828".into()).await.unwrap_err();
        assert_eq!(e.code, "wrong_pin");
        assert!(e.message.contains("4 tries left"), "{}", e.message);
        let view = core.lock_state().await;
        assert_eq!((view.failed_tries, view.tries_left), (1, 4));
        let view = core.unlock("4827".into()).await.unwrap();
        assert!(!view.locked && view.failed_tries == 0);
        assert!(!dir.path().join("lock.json").exists());
        assert!(core.list(None, None, 0, 10).await.is_ok());
        assert!(!core.check_idle(), "the idle time counts from the unlock");
    }

    #[tokio::test]
    async fn five_wrong_pins_forget_the_pin_and_only_a_sign_in_unlocks() {
        let dir = tempfile::tempdir().unwrap();
        let (core, _events, _clock) = core(dir.path()).await;
        core.set_pin("4827".into()).await.unwrap();
        assert!(core.lock_now().locked);
        for _ in 0..4 {
            assert_eq!(
                core.unlock("0000".into()).await.unwrap_err().code,
                "wrong_pin"
            );
        }
        let e = core.unlock("0000".into()).await.unwrap_err();
        assert_eq!(e.code, "sign_in_required");
        assert_eq!(
            core.unlock("4827".into()).await.unwrap_err().code,
            "sign_in_required",
            "the right PIN no longer unlocks"
        );
        let view = core.lock_state().await;
        assert!(view.locked && view.sign_in_required && !view.pin_set);
        core.unlock_after_sign_in();
        let view = core.lock_state().await;
        assert!(
            !view.locked && !view.pin_set,
            "a new PIN is chosen after the sign-in"
        );
        // No PIN: the lock screen can only offer the sign-in.
        core.lock_now();
        assert_eq!(core.unlock("4827".into()).await.unwrap_err().code, "no_pin");
    }

    #[tokio::test]
    async fn quitting_while_locked_does_not_unlock_and_the_setting_sets_the_time() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (core, _events, _clock) = core(dir.path()).await;
            core.lock_now();
            assert_eq!(core.unlock("0000".into()).await.unwrap_err().code, "no_pin");
        }
        let (core, _events, clock) = core(dir.path()).await;
        assert!(
            core.lock_state().await.locked,
            "locked again after a restart"
        );
        assert_eq!(
            core.list(None, None, 0, 1).await.unwrap_err().code,
            "locked"
        );
        core.unlock_after_sign_in();

        let mut s = core.settings();
        s.idle_lock_minutes = 1;
        core.save_settings(s, None, None).await.unwrap();
        assert_eq!(core.lock_state().await.idle_secs, 60);
        clock.advance(Duration::from_secs(60));
        // The next note command locks without waiting for the background check.
        assert_eq!(
            core.list(None, None, 0, 1).await.unwrap_err().code,
            "locked"
        );
        let mut s = core.settings();
        s.idle_lock_minutes = 5;
        assert_eq!(
            core.save_settings(s, None, None).await.unwrap_err().code,
            "locked",
            "settings do not change while locked"
        );
    }
}
