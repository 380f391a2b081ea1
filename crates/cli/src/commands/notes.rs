//! `notes list | search | show | history | review | dismiss`. `--json` prints Askara's own
//! field names plus `status`; the text form is for people. `show`, `review`, `dismiss` and
//! `import` are audited under the signed-in Askara user (else the OS account; in a clinic's
//! shared inbox, the connected role): see `who`. They work in whichever inbox `--inbox` names.

use crate::args::{FilterArgs, NotesCommand};
use crate::context::Context;
use crate::error::CliError;
use app::inbox_store::OpenedStore;
use inbox::{
    AuditEvent, DateBound, InboxStore, ListQuery, NoteFilter, NoteRecord, SearchQuery, Status,
};

/// `--json` prints every note's full text: that is reading them all, and audited as such
/// (the table prints no content). Nothing is printed when the reads cannot be recorded.
async fn audit_bulk_read(
    ctx: &Context,
    opened: &OpenedStore,
    notes: &[NoteRecord],
    json: bool,
) -> Result<(), CliError> {
    if !json || notes.is_empty() {
        return Ok(());
    }
    let who = super::who::identity(ctx, opened).await;
    let uuids = notes.iter().map(|n| n.uuid.clone()).collect();
    opened.store.record_bulk_read(uuids, &who.actor).await?;
    Ok(())
}

pub async fn run(ctx: &Context, cmd: NotesCommand) -> Result<(), CliError> {
    let opened = ctx.store().await?;
    let inbox: &dyn InboxStore = opened.store.as_ref();
    match cmd {
        NotesCommand::List {
            status,
            patient,
            limit,
            json,
            filter,
        } => {
            let status = status.map(|s| s.parse::<Status>()).transpose()?;
            let notes = inbox
                .list(ListQuery {
                    status,
                    patient_uuid: patient,
                    limit,
                    offset: 0,
                    filter: note_filter(filter)?,
                })
                .await?;
            audit_bulk_read(ctx, &opened, &notes, json).await?;
            print_list(&notes, json)
        }
        NotesCommand::Search {
            query,
            patient,
            limit,
            json,
            filter,
        } => {
            let mut q = SearchQuery {
                patient_uuid: patient,
                filter: note_filter(filter)?,
                ..SearchQuery::default()
            };
            if let Some(l) = limit {
                q.limit = l;
            }
            let results = inbox.search_detailed(&query, q).await?.notes;
            audit_bulk_read(ctx, &opened, &results, json).await?;
            print_list(&results, json)
        }
        NotesCommand::Show { uuid, json } => {
            let note = inbox
                .get(&uuid)
                .await?
                .ok_or(inbox::InboxError::NotFound { uuid })?;
            // Opening a note is audited; a read that cannot be recorded shows nothing.
            let who = super::who::identity(ctx, &opened).await;
            inbox.record_read(&note.uuid, &who.actor).await?;
            let assigned = inbox.patient_assignment(&note.uuid).await?;
            if json {
                let mut v = note.to_askara_json();
                if let Some(a) = &assigned {
                    v["practicePatient"] = super::patients::assignment_json(a);
                }
                print_json(&v)
            } else {
                print_note(&note);
                if let Some(a) = &assigned {
                    println!();
                    println!("{}", super::patients::assignment_line(a));
                }
                Ok(())
            }
        }
        NotesCommand::History { uuid, json } => {
            let events = app::audit::history(inbox, &uuid).await?;
            print_history(&events, json)
        }
        NotesCommand::Review { uuid } => set_status(ctx, &opened, &uuid, Status::Reviewed).await,
        NotesCommand::Dismiss { uuid } => set_status(ctx, &opened, &uuid, Status::Dismissed).await,
        NotesCommand::Import(args) => super::import::run(ctx, &opened, args).await,
        NotesCommand::Unmatched {
            limit,
            json,
            mut filter,
        } => {
            filter.needs_patient = true;
            let notes = inbox
                .list(ListQuery {
                    status: None,
                    patient_uuid: None,
                    limit,
                    offset: 0,
                    filter: note_filter(filter)?,
                })
                .await?;
            audit_bulk_read(ctx, &opened, &notes, json).await?;
            print_list(&notes, json)
        }
        NotesCommand::Assign(args) => super::patients::assign(ctx, &opened, args).await,
        NotesCommand::Unassign { uuid } => super::patients::unassign(ctx, &opened, &uuid).await,
    }
}

/// `--since`, `--until` (local days or RFC 3339), `--type`, `--author`; a date that cannot be
/// read, or a range that ends before it starts, is a usage error (exit 2, one line).
fn note_filter(f: FilterArgs) -> Result<NoteFilter, CliError> {
    let (since, before) = DateBound::range(f.since.as_deref(), f.until.as_deref(), &chrono::Local)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(NoteFilter {
        since,
        before,
        note_type: given(f.note_type),
        author: given(f.author),
        needs_patient: f.needs_patient,
    })
}

async fn set_status(
    ctx: &Context,
    opened: &OpenedStore,
    uuid: &str,
    to: Status,
) -> Result<(), CliError> {
    let who = super::who::identity(ctx, opened).await;
    let change = opened.store.set_status(uuid, to, &who.actor).await?;
    if change.changed {
        println!("{uuid}: {} -> {}", change.from.as_str(), change.to.as_str());
    } else {
        match (&change.already_by, change.already_at) {
            (Some(by), Some(at)) => println!(
                "{uuid}: already {} (by {by}, {})",
                change.to.as_str(),
                at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
            ),
            _ => println!("{uuid}: already {}", change.to.as_str()),
        }
    }
    Ok(())
}

fn print_json(v: &serde_json::Value) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::io(e.to_string()))?;
    println!("{s}");
    Ok(())
}

/// The trail, oldest first: `at`, `actor`, `action`, `detail` (status moves and the stored
/// detail; never note content).
fn print_history(events: &[AuditEvent], json: bool) -> Result<(), CliError> {
    let at = |e: &AuditEvent| e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if json {
        return print_json(&serde_json::Value::Array(
            events
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id,
                        "at": at(e),
                        "actor": e.actor,
                        "action": e.action,
                        "fromStatus": e.from_status.map(Status::as_str),
                        "toStatus": e.to_status.map(Status::as_str),
                        "detail": e.detail,
                    })
                })
                .collect(),
        ));
    }
    for e in events {
        let mut detail = match (e.from_status, e.to_status) {
            (Some(f), Some(t)) => format!("{} -> {}", f.as_str(), t.as_str()),
            (None, Some(t)) => format!("-> {}", t.as_str()),
            _ => String::new(),
        };
        if e.detail.as_object().is_some_and(|o| !o.is_empty()) {
            if !detail.is_empty() {
                detail.push_str("  ");
            }
            detail.push_str(&e.detail.to_string());
        }
        if detail.is_empty() {
            detail.push('-');
        }
        println!("{}  {:<32}  {:<14}  {}", at(e), e.actor, e.action, detail);
    }
    Ok(())
}

fn print_list(notes: &[NoteRecord], json: bool) -> Result<(), CliError> {
    if json {
        return print_json(&serde_json::Value::Array(
            notes.iter().map(NoteRecord::to_askara_json).collect(),
        ));
    }
    for n in notes {
        let name = n
            .patient
            .as_ref()
            .map(|p| p.display_name())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "(no patient)".into());
        // Two identifiers beside the name: two patients of one name are told apart.
        let ids = n
            .patient
            .as_ref()
            .map(|p| {
                app::patients::askara_identifiers(
                    p.date_of_birth.as_deref(),
                    p.external_id.as_deref(),
                    p.uuid.as_deref(),
                )
            })
            .unwrap_or_default();
        println!(
            "{}  {:<9}  {:<28}  {:<30}  {:<22}  {}{}",
            local(n.created_at),
            n.status.as_str(),
            truncate(&name, 28),
            truncate(&ids, 30),
            truncate(n.note_type.as_deref().unwrap_or("-"), 22),
            n.uuid,
            if n.verified { "" } else { "  UNVERIFIED" }
        );
    }
    if notes.is_empty() {
        eprintln!("no notes");
    }
    Ok(())
}

fn print_note(n: &NoteRecord) {
    let p = n.patient.as_ref();
    println!("uuid:     {}", n.uuid);
    println!("status:   {}", n.status.as_str());
    if !n.verified {
        println!("source:   UNVERIFIED webhook payload, not confirmed by Askara's API (check it in Askara before use)");
    }
    println!("type:     {}", n.note_type.as_deref().unwrap_or("-"));
    println!(
        "patient:  {}",
        p.map(|p| app::patients::describe(
            &p.display_name(),
            p.date_of_birth.as_deref(),
            p.external_id.as_deref()
        ))
        .unwrap_or_else(|| "(none)".into()),
    );
    println!("created:  {}", local(n.created_at));
    if n.updated_at != n.created_at {
        println!(
            "updated:  {} (revised after generation)",
            local(n.updated_at)
        );
    }
    println!();
    println!("{}", n.content);
}

fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
