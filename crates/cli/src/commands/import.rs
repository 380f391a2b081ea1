//! `notes import`: into the practice database, exactly once. The inbox records every attempt in
//! its audit log and moves a note to `imported` only after the target committed.

use crate::args::ImportArgs;
use crate::context::actor;
use crate::error::CliError;
use import::{ConnectOptions, ImportContext, ImportOutcome, ImportResult, Mapping, TargetSpec};
use inbox::{Inbox, ListQuery, NoteRecord, Status};
use serde_json::{json, Value};

pub async fn run(inbox: &Inbox, args: ImportArgs) -> Result<(), CliError> {
    let spec = TargetSpec::parse(&args.to)?;
    let mapping = args.mapping.as_deref().map(Mapping::load).transpose()?;
    let started = std::time::Instant::now();
    let notes = match &args.uuid {
        Some(uuid) => {
            let note = inbox
                .get(uuid)
                .await?
                .ok_or_else(|| inbox::InboxError::NotFound { uuid: uuid.clone() })?;
            if note.status == Status::Dismissed {
                return Err(CliError::usage(format!(
                    "note {uuid} is dismissed: mark it reviewed first (askara-inbox notes review {uuid})"
                )));
            }
            vec![note]
        }
        None => {
            inbox
                .list(ListQuery {
                    status: Some(Status::Reviewed),
                    ..ListQuery::default()
                })
                .await?
        }
    };
    tracing::info!(
        notes = notes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "notes loaded from the inbox"
    );
    let loaded = std::time::Instant::now();
    let target = import::connect(&spec, mapping, ConnectOptions::default()).await?;
    let who = actor();
    let ctx = ImportContext {
        user: who.clone(),
        workstation: workstation(),
        allow_update: args.update,
        dry_run: args.dry_run,
    };
    let described = target.describe();
    let askara_notes: Vec<askara::Note> = notes.iter().map(NoteRecord::to_note).collect();
    let results = match askara_notes.as_slice() {
        [one] => vec![target.import(one, &ctx).await],
        many => target.import_batch(many, &ctx).await?,
    };

    tracing::info!(
        notes = notes.len(),
        elapsed_ms = loaded.elapsed().as_millis() as u64,
        "target connected and notes written"
    );
    let mut printed = Vec::with_capacity(results.len());
    let mut events = Vec::with_capacity(results.len());
    let mut first_error: Option<CliError> = None;
    for (note, result) in notes.iter().zip(results) {
        match result {
            Ok(outcome) => {
                let done = matches!(
                    outcome.result,
                    ImportResult::Imported | ImportResult::Unchanged | ImportResult::Updated
                );
                if !args.dry_run {
                    events.push(inbox::ImportAttempt {
                        uuid: note.uuid.clone(),
                        committed: done,
                        detail: attempt_detail(&described, &outcome),
                    });
                }
                if outcome.result == ImportResult::Conflict && first_error.is_none() {
                    first_error = Some(CliError::Conflict {
                        message: format!(
                            "note {} was revised in Askara after {} imported it on {}: re-run with --update to overwrite it",
                            note.uuid,
                            outcome.imported_by,
                            outcome.imported_at.format("%Y-%m-%d %H:%M UTC")
                        ),
                    });
                }
                printed.push(outcome);
            }
            Err(e) => {
                events.push(inbox::ImportAttempt {
                    uuid: note.uuid.clone(),
                    committed: false,
                    detail: json!({"target": described, "result": "error", "code": e.code(), "error": e.to_string()}),
                });
                if first_error.is_none() {
                    first_error = Some(CliError::Import(e));
                }
            }
        }
    }
    if !events.is_empty() {
        let t = std::time::Instant::now();
        inbox.record_imports(events, &who).await?;
        tracing::info!(
            elapsed_ms = t.elapsed().as_millis() as u64,
            "import attempts recorded in the inbox"
        );
    }

    if args.json {
        let rows: Vec<Value> = printed
            .iter()
            .map(|o| outcome_json(&described, o))
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
            println!("{}: {} ({})", o.uuid, result_str(o.result), described);
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

fn result_str(r: ImportResult) -> &'static str {
    match r {
        ImportResult::Imported => "imported",
        ImportResult::Unchanged => "unchanged",
        ImportResult::Updated => "updated",
        ImportResult::Conflict => "conflict",
        ImportResult::DryRun => "dry_run",
    }
}

fn outcome_json(target: &str, o: &ImportOutcome) -> Value {
    let mut v = json!({
        "uuid": o.uuid,
        "result": result_str(o.result),
        "target": target,
        "importedAt": o.imported_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "importedBy": o.imported_by,
    });
    if let Some(row) = &o.row {
        v["row"] = Value::Object(row.iter().cloned().collect());
    }
    v
}

fn attempt_detail(target: &str, o: &ImportOutcome) -> Value {
    json!({
        "target": target,
        "result": result_str(o.result),
        "importedAt": o.imported_at.to_rfc3339(),
        "importedBy": o.imported_by,
    })
}

fn workstation() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}
