//! After a poll has stored its notes: the patients it has not seen, or whose note says they
//! changed, are read from Askara (`GET /patients/{uuid}`) for their date of birth and external
//! id. A few per poll, so a first sync of thousands of patients spreads over polls instead of
//! spending the rate-limit bucket at once; a failure never fails the poll (the patient is
//! asked again next poll), and a patient fetched is not asked again while nothing changes.

use crate::{InboxError, InboxStore, PatientFetch};
use askara::{ApiClient, ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Patients read per poll, at most: with the guide's 30–60 s polls, 10 a poll is 600–1,200
/// requests an hour at the very start, and nothing once every patient is known.
pub const PATIENTS_PER_POLL: usize = 10;

/// What one round of patient reads did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PatientFetchReport {
    /// Read from Askara and stored.
    pub fetched: usize,
    /// Askara has no such patient (404).
    pub unknown: usize,
    /// Failed; asked again next poll.
    pub failed: usize,
}

/// Whether to stop asking in this round after `e`: the next request would fail the same way
/// (signed out, scope missing, rate limited, Askara unreachable).
fn stops_the_round(e: &ApiError) -> bool {
    !matches!(e.code(), ErrorCode::NotFound | ErrorCode::BadResponse)
}

/// One round: at most `max` patients, outcomes stored at `now` in one transaction. The error
/// is the inbox's only (Askara's failures are counted, never returned).
pub async fn fetch_patients(
    api: &ApiClient,
    inbox: &dyn InboxStore,
    max: usize,
    now: DateTime<Utc>,
) -> Result<PatientFetchReport, InboxError> {
    let mut report = PatientFetchReport::default();
    let due = inbox.patients_to_fetch(max).await?;
    if due.is_empty() {
        return Ok(report);
    }
    let mut results = Vec::with_capacity(due.len());
    for uuid in due {
        match api.get_patient(&uuid).await {
            Ok(p) => {
                report.fetched += 1;
                results.push((uuid, PatientFetch::Found(p)));
            }
            Err(ApiError::NotFound { .. }) => {
                report.unknown += 1;
                results.push((uuid, PatientFetch::Gone));
            }
            Err(e) => {
                report.failed += 1;
                tracing::info!(
                    code = e.code().as_str(),
                    "reading a patient from Askara failed; retried next poll"
                );
                results.push((uuid, PatientFetch::Failed));
                if stops_the_round(&e) {
                    break;
                }
            }
        }
    }
    inbox.record_patient_fetches(results, now).await?;
    Ok(report)
}
