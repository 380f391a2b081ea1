//! `inbox init`: creates or upgrades a clinic's shared inbox on PostgreSQL (the workflow is
//! `app::inbox_store::init_clinic`; this prints one line).

use crate::args::InboxCommand;
use crate::context::Context;
use crate::error::CliError;
use app::inbox_store::InboxLocation;

pub async fn run(ctx: &Context, cmd: InboxCommand) -> Result<(), CliError> {
    match cmd {
        InboxCommand::Init => init(ctx).await,
    }
}

async fn init(ctx: &Context) -> Result<(), CliError> {
    let url = ctx
        .inbox_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            CliError::usage(
                "`inbox init` sets up a clinic's shared inbox: give it with --inbox postgres://user@host:5432/database (or ASKARA_INBOX_URL); the local inbox needs no init",
            )
        })?;
    let display = match ctx.location()? {
        InboxLocation::Clinic { display, .. } => display,
        // Refused by init_clinic in one line.
        InboxLocation::Local { .. } => String::new(),
    };
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
