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

pub async fn logout(ctx: &Context, erase: bool) -> Result<(), CliError> {
    let cfg = ctx.settings.client_config(None)?;
    let dir = ctx.data_dir.clone();
    let notes = tokio::task::spawn_blocking(move || {
        if erase {
            app::erase::erase_workstation(&dir, &cfg)
        } else {
            app::credentials::sign_out(&dir, &cfg).map(|n| n.into_iter().collect())
        }
    })
    .await
    .map_err(|e| CliError::io(e.to_string()))??;
    if erase {
        println!("Signed out and erased: this workstation's inbox, its key and the Askara sign-in were removed.");
    } else {
        println!("Signed out: the stored Askara sign-in was removed.");
    }
    for note in notes {
        eprintln!("warning: {note}");
    }
    Ok(())
}
