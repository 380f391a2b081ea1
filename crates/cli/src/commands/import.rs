//! `notes import`: into the practice database, exactly once. The workflow (connect, refuse a
//! dismissed note, write, audit every attempt) is `app::importing`; this prints.

use crate::args::ImportArgs;
use crate::context::Context;
use crate::error::CliError;
use app::importing::{self, Attempt, ImportOptions};
use app::inbox_store::OpenedStore;
use import::{ConflictKind, ImportOutcome, ImportResult};
use inbox::{InboxStore, ListQuery, Status};
use serde_json::Value;

pub async fn run(ctx: &Context, opened: &OpenedStore, args: ImportArgs) -> Result<(), CliError> {
    let inbox: &dyn InboxStore = opened.store.as_ref();
    // The target URL is checked before anything else is read.
    import::TargetSpec::parse(&args.to)?;
    let notes = match &args.uuid {
        Some(uuid) => vec![inbox
            .get(uuid)
            .await?
            .ok_or_else(|| inbox::InboxError::NotFound { uuid: uuid.clone() })?],
        None => {
            inbox
                .list(ListQuery {
                    status: Some(Status::Reviewed),
                    ..ListQuery::default()
                })
                .await?
        }
    };
    importing::refuse_dismissed(&notes)?;
    let target = importing::connect(&args.to, args.mapping.as_deref(), None).await?;
    let described = target.describe();
    let opts = ImportOptions {
        allow_update: args.update,
        dry_run: args.dry_run,
    };
    let who = super::who::identity(ctx, opened).await;
    let attempts = importing::import_notes(inbox, target.as_ref(), &notes, opts, &who).await?;

    let mut first_error: Option<CliError> = None;
    let mut printed: Vec<&ImportOutcome> = Vec::with_capacity(attempts.len());
    for Attempt { uuid, outcome, .. } in &attempts {
        match outcome {
            Ok(o) => {
                if o.result == ImportResult::Conflict && first_error.is_none() {
                    let when = o.imported_at.format("%Y-%m-%d %H:%M UTC");
                    let message = match (o.conflict, o.held_patient.as_deref()) {
                        (Some(ConflictKind::Patient), held) => format!(
                            "note {uuid} is already in the practice database under another patient ({}), imported by {} on {when}: check which patient is right; --update files it under this one",
                            held.unwrap_or("none"),
                            o.imported_by
                        ),
                        _ => format!(
                            "note {uuid} was revised in Askara after {} imported it on {when}: re-run with --update to overwrite it",
                            o.imported_by
                        ),
                    };
                    first_error = Some(CliError::Conflict { message });
                }
                printed.push(o);
            }
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(CliError::Import(e.clone()));
                }
            }
        }
    }

    if args.json {
        let rows: Vec<Value> = printed
            .iter()
            .map(|o| {
                let assigned = attempts
                    .iter()
                    .find(|a| a.uuid == o.uuid)
                    .and_then(|a| a.assigned.as_ref());
                outcome_json(&described, o, assigned)
            })
            .collect();
        let out = match (args.uuid.is_some(), rows.as_slice()) {
            (true, [one]) => one.clone(),
            _ => Value::Array(rows),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::io(e.to_string()))?
        );
    } else {
        for o in &printed {
            println!("{}: {} ({})", o.uuid, o.result.as_str(), described);
            // The confirmation names the patient the row is filed under, with two identifiers:
            // the practice patient a person assigned, else Askara's patient as the inbox shows it.
            let assigned = attempts
                .iter()
                .find(|a| a.uuid == o.uuid)
                .and_then(|a| a.assigned.as_ref());
            if let Some(a) = assigned {
                println!("    patient: {}", super::patients::assignment_line(a));
            } else if let Some(p) = notes
                .iter()
                .find(|n| n.uuid == o.uuid)
                .and_then(|n| n.patient.as_ref())
            {
                println!(
                    "    patient: {}",
                    app::patients::describe(
                        &p.display_name(),
                        p.date_of_birth.as_deref(),
                        p.external_id.as_deref()
                    )
                );
            }
            if let Some(row) = &o.row {
                for (col, v) in row {
                    println!("    {col} = {v}");
                }
            }
        }
        if args.all_reviewed && printed.is_empty() && first_error.is_none() {
            println!("no reviewed notes to import");
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn outcome_json(
    target: &str,
    o: &ImportOutcome,
    assigned: Option<&inbox::PatientAssignment>,
) -> Value {
    let mut v = serde_json::json!({
        "uuid": o.uuid,
        "result": o.result.as_str(),
        "target": target,
        "importedAt": o.imported_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "importedBy": o.imported_by,
    });
    if let Some(row) = &o.row {
        v["row"] = Value::Object(row.iter().cloned().collect());
    }
    if let Some(a) = assigned {
        v["practicePatient"] = super::patients::assignment_json(a);
    }
    if let Some(k) = o.conflict {
        v["conflict"] = serde_json::json!(k);
        v["heldPatient"] = serde_json::json!(o.held_patient);
    }
    v
}
