//! `inbox init`: creates or upgrades a clinic's shared inbox on PostgreSQL; `inbox password`
//! keeps its password in the OS keyring (the workflows are in `app::inbox_store`; this reads
//! and prints one line).

use crate::args::InboxCommand;
use crate::context::Context;
use crate::error::CliError;
use app::inbox_store::InboxLocation;

pub async fn run(ctx: &Context, cmd: InboxCommand) -> Result<(), CliError> {
    match cmd {
        InboxCommand::Init => init(ctx).await,
        InboxCommand::Password => password(ctx).await,
    }
}

/// The `--inbox` URL a command about the clinic's shared inbox needs.
fn clinic_url<'a>(ctx: &'a Context, command: &str) -> Result<&'a str, CliError> {
    ctx.inbox_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            CliError::usage(format!(
                "`inbox {command}` is for a clinic's shared inbox: give it with --inbox postgres://user@host:5432/database (or ASKARA_INBOX_URL); the local inbox needs neither"
            ))
        })
}

/// The clinic server as shown to people (empty for a local inbox, which the workflows refuse
/// in one line).
fn clinic_display(ctx: &Context) -> Result<String, CliError> {
    Ok(match ctx.location()? {
        InboxLocation::Clinic { display, .. } => display,
        InboxLocation::Local { .. } => String::new(),
    })
}

async fn password(ctx: &Context) -> Result<(), CliError> {
    use std::io::{BufRead, IsTerminal};
    let url = clinic_url(ctx, "password")?;
    if std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "`inbox password` reads the password from standard input so it is never shown: read -rs PW; printf '%s' \"$PW\" | askara-inbox --inbox URL inbox password; unset PW",
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::io(format!("cannot read the password from standard input: {e}")))?;
    let pw = askara::Sensitive::new(line.trim_end_matches(['\r', '\n']).to_string());
    drop(line);
    let role = app::inbox_store::remember_clinic_password(url, pw).await?;
    let display = clinic_display(ctx)?;
    println!("password for {display} kept in the OS keyring (logs in as {role})");
    Ok(())
}

async fn init(ctx: &Context) -> Result<(), CliError> {
    let url = clinic_url(ctx, "init")?;
    let display = clinic_display(ctx)?;
    let r = app::inbox_store::init_clinic(url).await?;
    let mut line = if r.from_version == r.to_version {
        format!(
            "clinic inbox at {display}: already at version {}",
            r.to_version
        )
    } else {
        format!(
            "clinic inbox at {display}: schema version {} → {}",
            r.from_version, r.to_version
        )
    };
    if !r.created_roles.is_empty() {
        line.push_str(&format!("; created roles {}", r.created_roles.join(", ")));
    }
    println!("{line}");
    if !r.created_roles.is_empty() {
        eprintln!(
            "next, as the same role: GRANT {} TO <each staff login>; GRANT {} TO <the login sync and serve run as>;",
            app::inbox_store::STAFF_ROLE,
            app::inbox_store::POLLER_ROLE,
        );
    }
    Ok(())
}
