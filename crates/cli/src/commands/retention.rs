//! `retention`: how long done notes stay in the local inbox; `--apply` removes older ones now.

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
    if !args.apply {
        println!("Imported and dismissed notes stay {days} days in the local inbox (new, reviewed and revised notes always stay).");
        return Ok(());
    }
    let inbox = ctx.inbox()?;
    let r = app::retention::apply(&inbox, days, chrono::Utc::now()).await?;
    println!(
        "Removed {} notes older than {days} days ({} earlier versions, {} patients no note names any more, {} webhook deliveries).",
        r.notes, r.versions, r.patients, r.deliveries
    );
    Ok(())
}
