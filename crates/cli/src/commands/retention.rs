//! `retention`: how long done notes stay in the inbox (local or the clinic's); `--apply`
//! removes older ones now.

use crate::args::RetentionArgs;
use crate::context::Context;
use crate::error::CliError;

pub async fn run(ctx: &mut Context, args: RetentionArgs) -> Result<(), CliError> {
    if let Some(days) = args.days {
        app::retention::check_days(days).map_err(|e| CliError::usage(e.to_string()))?;
        if ctx.settings.retention_days != days {
            ctx.settings.retention_days = days;
            ctx.settings.save(&ctx.data_dir)?;
        }
    }
    let days = ctx.settings.retention_days;
    // The period is this workstation's setting; in a clinic's shared inbox it applies to the
    // shared notes (every desk's `sync`, `serve` and `--apply` use its own setting).
    let clinic = ctx.location()?.is_clinic();
    let which = if clinic { "clinic" } else { "local" };
    if !args.apply {
        println!("Imported and dismissed notes stay {days} days in the {which} inbox (new, reviewed and revised notes always stay).");
        return Ok(());
    }
    let opened = ctx.store().await?;
    let r = app::retention::apply(opened.store.as_ref(), days, chrono::Utc::now()).await?;
    println!(
        "Removed {} notes older than {days} days ({} earlier versions, {} patients no note names any more, {} webhook deliveries).",
        r.notes, r.versions, r.patients, r.deliveries
    );
    Ok(())
}
