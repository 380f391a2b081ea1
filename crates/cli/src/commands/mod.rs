//! One module per command; `run` dispatches.

mod audit;
mod import;
mod inbox_cmd;
mod login;
mod notes;
mod patients;
mod retention;
mod serve;
mod sim;
mod sync;
mod webhooks;
mod who;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::error::CliError;

pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Sim(args) = cli.command {
        // The simulator needs no data dir.
        return sim::run(args).await;
    }
    let mut ctx = Context::new(cli.data_dir, cli.inbox)?;
    match cli.command {
        Command::Sync(args) => sync::run(&mut ctx, args).await,
        Command::Login(server) => login::login(&mut ctx, server).await,
        Command::Logout(args) => login::logout(&ctx, args.erase).await,
        Command::Retention(args) => retention::run(&mut ctx, args).await,
        Command::Notes(cmd) => notes::run(&ctx, cmd).await,
        Command::Sim(_) => Ok(()),
        Command::Serve(args) => serve::run(&mut ctx, args).await,
        Command::Webhooks(cmd) => webhooks::run(&mut ctx, cmd).await,
        Command::Audit(cmd) => audit::run(&ctx, cmd).await,
        Command::Inbox(cmd) => inbox_cmd::run(&ctx, cmd).await,
    }
}
