//! `askara-inbox`: the headless Askara Inbox for clinic servers, scripts and tests.

mod args;
mod commands;
mod context;
mod error;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASKARA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(commands::run(cli));
    if let Err(e) = result {
        eprintln!(
            "error: {}",
            e.to_string().lines().next().unwrap_or_default()
        );
        std::process::exit(e.exit_code());
    }
}
