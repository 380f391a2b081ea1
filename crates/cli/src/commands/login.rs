//! `login` (device code flow) and `logout`.

use crate::args::ServerArgs;
use crate::context::Context;
use crate::error::CliError;

pub async fn login(ctx: &mut Context, server: ServerArgs) -> Result<(), CliError> {
    ctx.remember(&server)?;
    let api = ctx.api(true)?;
    let auth = api.auth();
    let device = auth.start_device().await?;
    println!(
        "To sign in to Askara, open:\n\n    {}\n",
        device.verification_uri
    );
    println!("and enter the code:\n\n    {}\n", device.user_code);
    if let Some(complete) = &device.verification_uri_complete {
        println!("(or open {complete})");
    }
    println!(
        "Waiting for approval (the code expires in {} min)...",
        device.expires_in.as_secs().div_ceil(60)
    );
    let tokens = auth.finish_device(&device).await?;
    let mins = (tokens.expires_at - chrono::Utc::now()).num_minutes();
    println!(
        "Signed in to {} (access token valid {mins} min).",
        api.config().host()
    );
    Ok(())
}

/// `logout`, and with `--erase` this workstation's copy: the local inbox, its key and the
/// sign-in. A clinic's shared inbox (`--inbox postgres://…`) belongs to every desk and is
/// never erased from one: in clinic mode `--erase` removes only what is local (a local inbox
/// left from before, its key, the sign-in), which is what retiring the PC needs, and says the
/// shared inbox was not touched. With `--inbox sqlite:DIR/inbox.sqlite3` it is that inbox
/// (and its key) that is erased, and the data dir's sign-in.
pub async fn logout(ctx: &Context, erase: bool) -> Result<(), CliError> {
    let cfg = ctx.settings.client_config(None)?;
    let dir = ctx.data_dir.clone();
    let location = if erase { Some(ctx.location()?) } else { None };
    let inbox_dir = location
        .as_ref()
        .and_then(|l| l.local_dir(&dir))
        .unwrap_or_else(|| dir.clone());
    let notes = tokio::task::spawn_blocking(move || {
        if !erase {
            app::credentials::sign_out(&dir, &cfg).map(|n| n.into_iter().collect())
        } else if inbox_dir == dir {
            app::erase::erase_workstation(&dir, &cfg)
        } else {
            let mut notes = app::erase::erase_local_copy(&inbox_dir)?;
            notes.extend(app::credentials::sign_out(&dir, &cfg)?);
            Ok(notes)
        }
    })
    .await
    .map_err(|e| CliError::io(e.to_string()))??;
    match location {
        None => println!("Signed out: the stored Askara sign-in was removed."),
        Some(app::inbox_store::InboxLocation::Clinic { display, .. }) => println!(
            "Signed out and erased: this workstation's local inbox (if any), its key and the Askara sign-in were removed; the clinic inbox at {display} is shared and was not touched."
        ),
        Some(_) => println!("Signed out and erased: this workstation's inbox, its key and the Askara sign-in were removed."),
    }
    for note in notes {
        eprintln!("warning: {note}");
    }
    Ok(())
}
