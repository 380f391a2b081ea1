//! `webhooks register | list | delete`: Askara's webhook registrations for the organization.
//! `--json` prints Askara's fields: `id`, `url`, `events`, `active`.

use crate::args::{ServerArgs, WebhooksCommand};
use crate::context::Context;
use crate::error::CliError;
use askara::webhooks::Webhook;
use serde_json::json;

async fn api(
    ctx: &mut Context,
    server: &ServerArgs,
) -> Result<std::sync::Arc<askara::ApiClient>, CliError> {
    ctx.remember(server)?;
    let api = ctx.api(false)?;
    if !api.auth().has_credentials().await? {
        return Err(CliError::Credentials {
            message: "not signed in: run `askara-inbox login`, or set ASKARA_CLIENT_SECRET for client credentials".into(),
        });
    }
    Ok(api)
}

fn to_json(w: &Webhook) -> serde_json::Value {
    json!({ "id": w.id, "url": w.url, "events": w.events, "active": w.active })
}

fn print_line(w: &Webhook) {
    println!(
        "{}  {}  {}  {}",
        w.id,
        if w.active { "active" } else { "inactive" },
        w.events.join(","),
        w.url
    );
}

pub async fn run(ctx: &mut Context, cmd: WebhooksCommand) -> Result<(), CliError> {
    match cmd {
        WebhooksCommand::Register {
            url,
            events,
            server,
            json,
        } => {
            let parsed = url::Url::parse(&url).map_err(|e| {
                CliError::usage(format!(
                    "--url `{url}` is not a URL ({e}); give the full https://… address"
                ))
            })?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(CliError::usage(
                    "--url must be an https:// (or http://) address",
                ));
            }
            let events: Vec<String> = events
                .into_iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
            if events.is_empty() {
                return Err(CliError::usage(
                    "--events needs at least one event, e.g. new_note",
                ));
            }
            let api = api(ctx, &server).await?;
            let w = api.create_webhook(parsed.as_str(), &events).await?;
            if json {
                println!("{}", to_json(&w));
            } else {
                println!("registered webhook {}", w.id);
                print_line(&w);
            }
            Ok(())
        }
        WebhooksCommand::List { server, json } => {
            let api = api(ctx, &server).await?;
            let hooks = api.list_webhooks().await?;
            if json {
                let v: Vec<_> = hooks.iter().map(to_json).collect();
                println!("{}", serde_json::Value::Array(v));
            } else if hooks.is_empty() {
                println!("no webhooks registered");
            } else {
                hooks.iter().for_each(print_line);
            }
            Ok(())
        }
        WebhooksCommand::Delete { id, server, json } => {
            let api = api(ctx, &server).await?;
            api.delete_webhook(&id).await?;
            if json {
                println!("{}", json!({ "id": id, "deleted": true }));
            } else {
                println!("deleted webhook {id}");
            }
            Ok(())
        }
    }
}
