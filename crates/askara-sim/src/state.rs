//! Everything one running simulator holds. Each concern keeps its own lock so a slow
//! listing never blocks the token endpoint; new features (webhooks) add a field here and a
//! router in their own module.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::authorize::AuthCodeStore;
use crate::config::SimConfig;
use crate::device::DeviceStore;
use crate::faults::Faults;
use crate::rate_limit::RateLimiter;
use crate::requests::RequestLog;
use crate::store::NoteStore;
use crate::tokens::TokenStore;
use crate::webhooks::WebhookState;

pub(crate) struct Shared {
    pub config: SimConfig,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub notes: RwLock<NoteStore>,
    pub tokens: Arc<Mutex<TokenStore>>,
    pub devices: Mutex<DeviceStore>,
    pub auth_codes: Mutex<AuthCodeStore>,
    pub rate: Mutex<RateLimiter>,
    pub faults: Faults,
    pub requests: Mutex<RequestLog>,
    pub token_requests: AtomicUsize,
    /// Which user `GET /me` names (0: the default clinician); see `SimHandle::set_user`.
    pub user: AtomicUsize,
    /// Next generator index per seed, so repeated `add_generated` calls with one seed never
    /// produce the same note twice yet stay deterministic.
    pub generated: Mutex<HashMap<u64, u64>>,
    /// Every note added, for push features (webhook deliveries) to subscribe to.
    pub note_events: broadcast::Sender<Value>,
    /// Webhook registrations, deliveries and the failure queue.
    pub webhooks: WebhookState,
    /// `GET /notes` listings answered so far.
    pub lists_served: AtomicUsize,
    /// Notes that appear once that many listings have been answered (a test's "notes arrive
    /// while a client pages").
    pub arrivals: Mutex<Vec<(usize, Vec<Value>)>>,
    /// Patient records as `GET /patients/{uuid}` serves them, set by a test
    /// (`SimHandle::set_patient`): Askara's notes embed only part of a patient.
    pub patient_records: Mutex<HashMap<String, Value>>,
}

pub(crate) type AppState = Arc<Shared>;

impl Shared {
    pub(crate) fn new(config: SimConfig, base_url: String) -> Shared {
        let tokens = Arc::new(Mutex::new(TokenStore::default()));
        let (note_events, _) = broadcast::channel(1024);
        Shared {
            rate: Mutex::new(RateLimiter::new(config.rate_limit)),
            faults: Faults::new(tokens.clone()),
            config,
            base_url,
            notes: RwLock::new(NoteStore::default()),
            tokens,
            devices: Mutex::new(DeviceStore::default()),
            auth_codes: Mutex::new(AuthCodeStore::default()),
            requests: Mutex::new(RequestLog::default()),
            token_requests: AtomicUsize::new(0),
            user: AtomicUsize::new(0),
            generated: Mutex::new(HashMap::new()),
            note_events,
            webhooks: WebhookState::default(),
            lists_served: AtomicUsize::new(0),
            arrivals: Mutex::new(Vec::new()),
            patient_records: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one answered listing and adds the notes due to arrive after it.
    pub(crate) fn list_served(&self) {
        let served = self
            .lists_served
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let due: Vec<Value> = {
            let mut arrivals = lock(&self.arrivals);
            let (due, later) = arrivals.drain(..).partition(|(after, _)| *after <= served);
            *arrivals = later;
            due.into_iter().flat_map(|(_, notes)| notes).collect()
        };
        if !due.is_empty() {
            let mut store = self.notes_write();
            for n in due {
                store.insert(n);
            }
        }
    }

    pub(crate) fn notes_read(&self) -> RwLockReadGuard<'_, NoteStore> {
        self.notes.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notes_write(&self) -> RwLockWriteGuard<'_, NoteStore> {
        self.notes.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A panic in one handler must not wedge the whole simulator, so poisoned locks are reused:
/// every critical section leaves its data consistent at each step.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
