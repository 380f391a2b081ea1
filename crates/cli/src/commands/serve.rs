//! `serve`: the webhook receiver (crates/receiver), and with `--poll` the poller beside it.
//! A thin adapter: flags and credentials in, `receiver::serve` out.

use crate::args::ServeArgs;
use crate::context::Context;
use crate::error::CliError;
use askara::{ApiClient, Sensitive, SharedClock, SystemClock};
use receiver::{PollConfig, Receiver, ReceiverConfig, ReceiverError};
use std::sync::Arc;
use std::time::Duration;

fn cli_error(e: ReceiverError) -> CliError {
    match e {
        ReceiverError::Inbox(e) => CliError::Inbox(e),
        ReceiverError::Api(e) => CliError::Api(e),
        ReceiverError::Config(m) => CliError::config(m),
        other => CliError::io(other.to_string()),
    }
}

/// An API client when credentials exist: the client secret, else a stored sign-in (looked up
/// quietly: without `--poll` the receiver works without one).
async fn api_if_signed_in(
    ctx: &Context,
    required: bool,
) -> Result<Option<Arc<ApiClient>>, CliError> {
    if required || Context::client_secret().is_some() {
        let api = ctx.api(false)?;
        if api.auth().has_credentials().await? {
            return Ok(Some(api));
        }
        return Err(CliError::Credentials {
            message: "--poll needs Askara credentials: run `askara-inbox login`, or set ASKARA_CLIENT_SECRET for client credentials".into(),
        });
    }
    let Some(store) = ctx.existing_token_store()? else {
        return Ok(None);
    };
    let cfg = ctx.settings.client_config(None)?;
    let clock: SharedClock = Arc::new(SystemClock);
    Ok(Some(Arc::new(ApiClient::new(cfg, store, clock)?)))
}

pub async fn run(ctx: &mut Context, args: ServeArgs) -> Result<(), CliError> {
    ctx.remember(&args.server)?;
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        CliError::usage(format!(
            "--listen `{}` is not an address like 127.0.0.1:8088",
            args.listen
        ))
    })?;
    let secret = match args.webhook_secret.as_deref().map(str::trim) {
        Some("") => return Err(CliError::usage("--webhook-secret must not be empty")),
        Some(s) if s.contains('/') || s.contains('?') || s.contains('#') || s.contains('%') => {
            return Err(CliError::usage(
                "--webhook-secret must be one URL path segment: letters, digits, '-', '_', '.', '~'",
            ))
        }
        Some(s) => Some(Sensitive::new(s.to_string())),
        None => None,
    };
    if !addr.ip().is_loopback() && !secret.as_ref().is_some_and(|s| strong_secret(s.expose())) {
        return Err(CliError::usage(format!(
            "--listen {addr} is reachable from other machines: give a --webhook-secret of at least 128 bits (make one with `openssl rand -hex 16`) and register the URL ending in it"
        )));
    }
    if let Some(0) = args.interval {
        return Err(CliError::usage(
            "--interval must be at least 1 second (Askara recommends 30-60)",
        ));
    }
    let api = api_if_signed_in(ctx, args.poll).await?;
    let poll = args.poll.then(|| {
        let mut sync = ctx.settings.sync_config();
        if let Some(secs) = args.interval {
            sync.interval = Duration::from_secs(secs);
        }
        PollConfig {
            sync,
            reconcile_interval: Duration::from_secs(args.reconcile_interval.max(1)),
            ..PollConfig::default()
        }
    });
    let opened = ctx.store().await?;
    // One poller per clinic: with a shared inbox, the receiver polls only while it holds the
    // clinic's lease and stands by otherwise (`/healthz`: poll_standby), so every clinic server
    // may run `serve --poll`.
    let poll = poll.map(|mut p| {
        if let Some(pg) = &opened.clinic {
            p.leases = Some(Arc::new(ClinicLeases(pg.clone())) as Arc<dyn receiver::PollLeases>);
        }
        p
    });
    // One poller per inbox: with --poll, the inbox's poll lock (in its folder; for a clinic
    // inbox, in the data dir for now) is held until serve ends.
    // The receiver's poller cannot wait for it as a standby, so serve refuses to start beside
    // another poller (a service manager's restart then takes over once it stops).
    let lock = (args.poll && opened.clinic.is_none())
        .then(|| ctx.poll_lock())
        .transpose()?;
    let _poll_lock = match lock.map(|l| l.try_take()) {
        None => None,
        Some(Ok(Some(held))) => Some(held),
        Some(Ok(None)) => return Err(CliError::Conflict {
            message: "another Askara Inbox on this computer (the desktop app or `askara-inbox sync`) is syncing this inbox: stop it, or run `serve` without --poll".into(),
        }),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot take the poll lock; polling without it");
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::io(format!(
            "cannot listen on {addr}: {e}; pick another --listen"
        ))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::io(format!("cannot read the listening address: {e}")))?;
    let path = if secret.is_some() {
        format!("{}/<secret>", receiver::WEBHOOK_PATH)
    } else {
        receiver::WEBHOOK_PATH.to_string()
    };
    let has_api = api.is_some();
    let cfg = ReceiverConfig {
        secret,
        api,
        poll,
        // --hold-queue: store only; a later `serve` drains the queue.
        run_worker: !args.hold_queue,
        trust_payloads: args.trust_payloads,
        max_pending: args.max_pending,
        ..ReceiverConfig::default()
    };
    let (dir, days) = (ctx.data_dir.clone(), ctx.settings.retention_days);
    // The settings file is read at each run, so a `retention --days N` applies to a running job.
    let days = move || {
        app::Settings::load(&dir)
            .map(|(s, _)| s.retention_days)
            .unwrap_or(days)
    };
    let _retention = app::retention::RetentionJob::start(opened.store.clone(), days);
    let r = Receiver::start_shared(opened.store.clone(), cfg);
    println!("listening on http://{local}");
    println!("  deliveries: POST {path}");
    println!("  health:     GET {}", receiver::HEALTH_PATH);
    if let Some(pg) = &opened.clinic {
        println!(
            "  inbox:      clinic inbox at {} (as {})",
            pg.display(),
            pg.role()
        );
    }
    if args.poll {
        println!("  polling:    on (slower while deliveries flow)");
    } else if !has_api && args.trust_payloads {
        eprintln!("warning: no Askara credentials: payloads are stored as delivered and marked UNVERIFIED");
    } else if !has_api {
        eprintln!("warning: no Askara credentials: deliveries cannot be confirmed and are rejected (sign in with `askara-inbox login`, or pass --trust-payloads)");
    }
    r.serve(listener, app::shutdown::signal())
        .await
        .map_err(cli_error)
}

/// At least 128 bits: 32 hex digits, or 22 characters from a larger alphabet, with enough
/// different characters that it is not a repeated pattern.
fn strong_secret(s: &str) -> bool {
    let distinct = s.chars().collect::<std::collections::BTreeSet<_>>().len();
    let hex = s.chars().all(|c| c.is_ascii_hexdigit());
    let needed = if hex { 32 } else { 22 };
    s.chars().count() >= needed && distinct >= 8
}

#[cfg(test)]
mod tests {
    use super::strong_secret;

    #[test]
    fn secrets_of_128_bits() {
        assert!(strong_secret("3f9a1c0e7b2d4a6f8e1c3b5d7f9a0c2e"));
        assert!(!strong_secret("3f9a1c0e7b2d4a6f8e1c3b5d7f9a0c2"));
        assert!(strong_secret("Zq8_Lw3-Yt6vRk1pNx4sMb"));
        assert!(!strong_secret("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!strong_secret("hunter2"));
    }
}

/// The clinic's poll lock as the receiver asks for it.
#[derive(Debug)]
struct ClinicLeases(app::inbox_store::PgInbox);

struct Held(app::inbox_store::ClinicLease);

impl receiver::PollLease for Held {
    fn is_held(&self) -> bool {
        self.0.is_held()
    }
}

#[async_trait::async_trait]
impl receiver::PollLeases for ClinicLeases {
    async fn try_take(&self) -> Result<Option<Box<dyn receiver::PollLease>>, String> {
        match self.0.try_poll_lease().await {
            Ok(Some(l)) => Ok(Some(Box::new(Held(l)))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
