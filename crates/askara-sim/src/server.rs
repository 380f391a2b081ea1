//! Starting, steering and stopping a simulator. The accept loop is hand-rolled (rather than
//! `axum::serve`) so that a drop fault can close a connection before any byte of a response.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Request;
use axum::Router;
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tower_service::Service as _;

use crate::config::SimConfig;
use crate::device;
use crate::faults::Faults;
use crate::generator;
use crate::guard::ConnAbort;
use crate::requests::RequestRecord;
use crate::routes::router;
use crate::state::{lock, AppState, Shared};

struct Inner {
    state: AppState,
    shutdown: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

/// A running simulator. Clones share it; [`SimHandle::shutdown`] stops it for all. It keeps
/// serving until then, or until its Tokio runtime ends.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

/// Askara's timestamps have whole seconds, which is why so many notes share one.
fn whole_second_now() -> DateTime<Utc> {
    let now = Utc::now();
    now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
}

/// Resolves once shutdown is signalled. Dropping every handle does not stop the server (a
/// test that keeps only `base_url()` must still reach it); the runtime ending does.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn serve_connection(stream: TcpStream, app: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let abort = Arc::new(Notify::new());
    let conn_abort = ConnAbort(abort.clone());
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(conn_abort.clone());
        let mut app = app.clone();
        async move { app.call(req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    // Dropping the connection future closes the socket mid-exchange, which is the point.
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "askara-sim connection ended with an error");
            }
        }
        _ = abort.notified() => tracing::debug!("askara-sim dropped a connection on purpose"),
        _ = stopped(&mut shutdown) => {}
    }
}

async fn accept_loop(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let for_connections = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, app.clone(), for_connections.clone()));
                }
                Err(e) => {
                    // Usually EMFILE under load; back off instead of spinning.
                    tracing::debug!(error = %e, "askara-sim accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = stopped(&mut shutdown) => break,
        }
    }
}

impl SimHandle {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(cfg: SimConfig, addr: SocketAddr) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(addr).await?;
        let mut local = listener.local_addr()?;
        // A wildcard bind is still reached through loopback from this machine.
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let state: AppState = Arc::new(Shared::new(cfg, format!("http://{local}")));
        let (shutdown, rx) = watch::channel(false);
        crate::webhooks::spawn_dispatcher(state.clone(), rx.clone());
        let server = tokio::spawn(accept_loop(listener, router(state.clone()), rx));
        Ok(SimHandle {
            inner: Arc::new(Inner {
                state,
                shutdown,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    pub(crate) fn st(&self) -> &AppState {
        &self.inner.state
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.st().base_url.clone()
    }

    pub fn config(&self) -> SimConfig {
        self.st().config.clone()
    }

    /// Sets the patient resource `GET /patients/{uuid}` serves for `patient["uuid"]` (its
    /// fields win over what notes embed): real notes carry only uuid and names, the resource
    /// the date of birth and the practice's external id.
    pub fn set_patient(&self, patient: Value) {
        if let Some(uuid) = patient.get("uuid").and_then(Value::as_str) {
            crate::state::lock(&self.st().patient_records).insert(uuid.to_string(), patient);
        }
    }

    /// Inserts a raw note exactly as given (it may lack fields a real note has).
    pub fn add_note(&self, note: Value) {
        self.st().notes_write().insert(note.clone());
        // Nobody listening is the normal case.
        let _ = self.st().note_events.send(note);
    }

    fn next_indices(&self, seed: u64, n: usize) -> u64 {
        let mut generated = lock(&self.st().generated);
        let next = generated.entry(seed).or_insert(0);
        let first = *next;
        *next += n as u64;
        first
    }

    fn add_all(&self, notes: Vec<Value>) -> Vec<String> {
        let uuids = notes
            .iter()
            .filter_map(|n| n.get("uuid").and_then(Value::as_str).map(str::to_string))
            .collect();
        {
            let mut store = self.st().notes_write();
            for n in &notes {
                store.insert(n.clone());
            }
        }
        for n in notes {
            let _ = self.st().note_events.send(n);
        }
        uuids
    }

    /// `n` synthetic notes spread over the past days up to now. Successive calls with one
    /// seed continue its stream, so uuids never repeat.
    pub fn add_generated(&self, n: usize, seed: u64) -> Vec<String> {
        let first = self.next_indices(seed, n);
        self.add_all(generator::generate_spread(seed, first, n, Utc::now()))
    }

    /// `n` synthetic notes all created at exactly `created_at`.
    pub fn add_generated_at(&self, n: usize, seed: u64, created_at: DateTime<Utc>) -> Vec<String> {
        let first = self.next_indices(seed, n);
        self.add_all(generator::generate_at(seed, first, n, created_at))
    }

    /// `n` synthetic notes created at `created_at` that appear once `after_lists` `GET /notes`
    /// listings have been answered since the start: notes arriving while a client pages.
    pub fn add_generated_after_lists(
        &self,
        after_lists: usize,
        n: usize,
        seed: u64,
        created_at: DateTime<Utc>,
    ) -> Vec<String> {
        let first = self.next_indices(seed, n);
        let notes = generator::generate_at(seed, first, n, created_at);
        let uuids = notes
            .iter()
            .filter_map(|n| n.get("uuid").and_then(Value::as_str).map(str::to_string))
            .collect();
        lock(&self.st().arrivals).push((after_lists, notes));
        uuids
    }

    /// `GET /notes` listings answered so far.
    pub fn lists_served(&self) -> usize {
        self.st().lists_served.load(Ordering::SeqCst)
    }

    /// Replaces a note's content and sets `updatedAt` to now (at least one second after the
    /// previous `updatedAt`, so the revision is always visible). `false` if no such note.
    pub fn revise_note(&self, uuid: &str, new_content: &str) -> bool {
        self.st()
            .notes_write()
            .revise(uuid, new_content, whole_second_now())
    }

    /// Which user the tokens act for from now on, as `GET /me` says (0: the default
    /// clinician, `ingrid.solberg@example.test`; n: `staff{n}@example.test`): another person
    /// signing in on the same workstation.
    pub fn set_user(&self, n: usize) {
        self.st().user.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Uuids in insertion order.
    pub fn note_uuids(&self) -> Vec<String> {
        self.st().notes_read().uuids()
    }

    /// The stored note, as served in listings.
    pub fn note(&self, uuid: &str) -> Option<Value> {
        self.st().notes_read().get(uuid).map(|n| n.json.clone())
    }

    /// The uuid `GET /notes?audio=` matches for this note.
    pub fn note_audio_uuid(&self, uuid: &str) -> Option<String> {
        self.st()
            .notes_read()
            .get(uuid)
            .map(|n| n.audio_uuid.clone())
    }

    /// Every note added from now on (for push features such as webhook deliveries).
    pub fn subscribe_notes(&self) -> broadcast::Receiver<Value> {
        self.st().note_events.subscribe()
    }

    /// Demo mode: one new note per `every`, until the task is aborted or the sim shut down.
    pub fn spawn_generator(&self, every: Duration, seed: u64) -> JoinHandle<()> {
        let sim = self.clone();
        let mut stop = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick fires at once; the first note should come after one interval.
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let first = sim.next_indices(seed, 1);
                        sim.add_all(generator::generate_at(seed, first, 1, whole_second_now()));
                    }
                    _ = stopped(&mut stop) => break,
                }
            }
        })
    }

    pub fn faults(&self) -> Faults {
        self.st().faults.clone()
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.st().requests).snapshot()
    }

    pub fn clear_requests(&self) {
        lock(&self.st().requests).clear();
    }

    /// Approves a pending device code as the user would on `/device`.
    pub fn approve_device(&self, user_code: &str) -> bool {
        device::decide_code(self.st(), user_code, true)
    }

    pub fn deny_device(&self, user_code: &str) -> bool {
        device::decide_code(self.st(), user_code, false)
    }

    /// How many times an already-used refresh token was presented.
    pub fn refresh_reuse_detected(&self) -> usize {
        lock(&self.st().tokens).reuse_detected()
    }

    /// Requests to `/oauth2/token`, whatever their outcome.
    pub fn token_requests(&self) -> usize {
        self.st().token_requests.load(Ordering::SeqCst)
    }

    /// Stops accepting, closes every open connection and stops generators.
    pub async fn shutdown(self) {
        let _ = self.inner.shutdown.send(true);
        let server = lock(&self.inner.server).take();
        if let Some(server) = server {
            let _ = server.await;
        }
    }
}
