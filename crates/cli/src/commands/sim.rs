//! `sim`: the Askara simulator, so a new user sees the product work without an Askara account.

use crate::args::SimArgs;
use crate::error::CliError;
use askara_sim::{SimConfig, SimHandle};
use std::time::Duration;

pub async fn run(args: SimArgs) -> Result<(), CliError> {
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        CliError::usage(format!(
            "--listen `{}` is not an address like 127.0.0.1:8765",
            args.listen
        ))
    })?;
    let cfg = SimConfig {
        device_auto_approve: args.auto_approve,
        ..SimConfig::default()
    };
    let sim = SimHandle::start_on(cfg.clone(), addr).await.map_err(|e| {
        CliError::io(format!(
            "cannot listen on {addr}: {e}; pick another --listen"
        ))
    })?;
    sim.add_generated(args.notes, args.seed);
    let generator = match args.every {
        Some(secs) if secs > 0.0 => {
            Some(sim.spawn_generator(Duration::from_secs_f64(secs), args.seed + 1))
        }
        Some(_) => return Err(CliError::usage("--every must be more than 0 seconds")),
        None => None,
    };
    let base = sim.base_url();
    println!(
        "Askara simulator listening on {base} with {} synthetic notes",
        args.notes
    );
    println!("  client id:     {}", cfg.client_id);
    println!("  client secret: {}   (simulator only)", cfg.client_secret);
    println!("Try:");
    println!(
        "  ASKARA_CLIENT_SECRET={} askara-inbox sync --once --base-url {base} --client-id {}",
        cfg.client_secret, cfg.client_id
    );
    println!(
        "  askara-inbox login --base-url {base} --client-id {}   (approve at {base}/device)",
        cfg.client_id
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::io(e.to_string()))?;
    if let Some(g) = generator {
        g.abort();
    }
    sim.shutdown().await;
    Ok(())
}
