//! `notes assign | unassign`: a note's practice patient, chosen by a person or a script
//! (the workflow, audit included, is `app::patients`; this prints).

use crate::args::AssignArgs;
use crate::context::Context;
use crate::error::CliError;
use app::inbox_store::OpenedStore;
use inbox::PatientAssignment;

pub async fn assign(ctx: &Context, opened: &OpenedStore, args: AssignArgs) -> Result<(), CliError> {
    let to = args
        .to
        .clone()
        .unwrap_or_else(|| ctx.settings.import_target.clone());
    if to.trim().is_empty() {
        return Err(app::AppError::NoTarget.into());
    }
    import::TargetSpec::parse(to.trim())?;
    let mapping = args
        .mapping
        .clone()
        .or_else(|| {
            let m = ctx.settings.mapping_file.trim();
            (!m.is_empty()).then(|| m.into())
        })
        .ok_or_else(|| {
            CliError::usage(
                "assigning a patient needs a mapping with [patient_search]: give --mapping FILE or set mappingFile",
            )
        })?;
    let target = app::importing::connect(&to, Some(mapping.as_path()), None).await?;
    let who = super::who::identity(ctx, opened).await;
    let a = app::patients::assign(
        opened.store.as_ref(),
        target.as_ref(),
        &args.uuid,
        &args.patient,
        args.search.as_deref(),
        &who,
    )
    .await?;
    if args.json {
        let s = serde_json::to_string_pretty(&assignment_json(&a))
            .map_err(|e| CliError::io(e.to_string()))?;
        println!("{s}");
    } else {
        println!("{}: {}", a.note_uuid, assignment_line(&a));
    }
    Ok(())
}

pub async fn unassign(ctx: &Context, opened: &OpenedStore, uuid: &str) -> Result<(), CliError> {
    let who = super::who::identity(ctx, opened).await;
    if app::patients::unassign(opened.store.as_ref(), uuid, &who).await? {
        println!("{uuid}: patient assignment undone");
    } else {
        println!("{uuid}: no patient was assigned");
    }
    Ok(())
}

/// `practicePatient` of `notes show --json` (and `notes assign --json`).
pub fn assignment_json(a: &PatientAssignment) -> serde_json::Value {
    serde_json::json!({
        "noteUuid": a.note_uuid,
        "id": a.practice_patient_id,
        "name": a.patient_name,
        "dateOfBirth": a.date_of_birth,
        "externalId": a.external_id,
        "target": a.target,
        "assignedBy": a.assigned_by,
        "assignedAt": a.assigned_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

pub fn assignment_line(a: &PatientAssignment) -> String {
    format!(
        "assigned to practice patient {} ({}) in {} by {} at {}",
        a.practice_patient_id,
        app::patients::describe(
            a.patient_name.as_deref().unwrap_or(""),
            a.date_of_birth.as_deref(),
            a.external_id.as_deref()
        ),
        a.target,
        a.assigned_by,
        a.assigned_at.format("%Y-%m-%d %H:%M UTC")
    )
}
