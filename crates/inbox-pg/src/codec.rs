//! How notes and times are stored: the SQLite inbox's fixed-width UTC text (text order is time
//! order, nanoseconds kept), and rows back into records.

use chrono::{DateTime, SecondsFormat, Utc};
use inbox::{InboxError, NoteRecord, NoteVersion, Source, Status};
use serde_json::Value;
use tokio_postgres::Row;

/// Stored timestamp form, as in the SQLite inbox.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, InboxError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| InboxError::Corrupt(format!("a stored time is not a timestamp: {s}")))
}

pub(crate) fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, InboxError> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn status(s: &str) -> Result<Status, InboxError> {
    s.parse()
        .map_err(|_| InboxError::Corrupt(format!("unknown stored status {s}")))
}

pub(crate) fn opt_status(s: Option<String>) -> Result<Option<Status>, InboxError> {
    s.as_deref().map(status).transpose()
}

fn source(s: &str) -> Result<Source, InboxError> {
    s.parse()
        .map_err(|_| InboxError::Corrupt(format!("unknown stored source {s}")))
}

pub(crate) fn json(s: &str) -> Result<Value, InboxError> {
    serde_json::from_str(s).map_err(|e| InboxError::Corrupt(format!("stored JSON: {e}")))
}

pub(crate) fn raw_or_rfc3339(raw: &str, t: DateTime<Utc>) -> String {
    if raw.is_empty() {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        raw.to_string()
    }
}

/// Columns read into a `NoteRecord`/`NoteVersion` (same names in both tables).
pub(crate) const NOTE_COLS: &str = "n.note_type, n.content, n.created_at, n.updated_at, \
     n.created_at_raw, n.updated_at_raw, n.has_patient, n.patient_uuid, n.patient_first_name, \
     n.patient_last_name, n.patient_external_id, n.status, n.raw";

/// What a `NoteRecord` reads besides [`NOTE_COLS`].
pub(crate) const RECORD_COLS: &str = "n.uuid, n.note_type, n.content, n.created_at, \
     n.updated_at, n.created_at_raw, n.updated_at_raw, n.has_patient, n.patient_uuid, \
     n.patient_first_name, n.patient_last_name, n.patient_external_id, n.status, n.raw, \
     n.first_seen_at, n.source, n.verified, n.author_user_id, n.patient_date_of_birth";

fn patient(r: &Row, first: usize) -> Option<askara::Patient> {
    let has: bool = r.get(first);
    has.then(|| askara::Patient {
        uuid: r.get(first + 1),
        first_name: r.get(first + 2),
        last_name: r.get(first + 3),
        external_id: r.get(first + 4),
        date_of_birth: None,
    })
}

/// A row of [`RECORD_COLS`].
pub(crate) fn record(r: &Row) -> Result<NoteRecord, InboxError> {
    let mut patient = patient(r, 7);
    if let Some(p) = patient.as_mut() {
        p.date_of_birth = r.get(18);
    }
    Ok(NoteRecord {
        uuid: r.get(0),
        note_type: r.get(1),
        content: r.get(2),
        created_at: parse_ts(r.get(3))?,
        updated_at: parse_ts(r.get(4))?,
        created_at_raw: r.get(5),
        updated_at_raw: r.get(6),
        patient,
        status: status(r.get(12))?,
        raw: json(r.get(13))?,
        first_seen_at: parse_ts(r.get(14))?,
        source: source(r.get(15))?,
        verified: r.get(16),
        author_user_id: r.get(17),
    })
}

/// A row of `n.note_uuid, NOTE_COLS, n.replaced_at` from note_versions.
pub(crate) fn version(r: &Row) -> Result<NoteVersion, InboxError> {
    Ok(NoteVersion {
        uuid: r.get(0),
        note_type: r.get(1),
        content: r.get(2),
        created_at: parse_ts(r.get(3))?,
        updated_at: parse_ts(r.get(4))?,
        created_at_raw: r.get(5),
        updated_at_raw: r.get(6),
        patient: patient(r, 7),
        status: status(r.get(12))?,
        raw: json(r.get(13))?,
        replaced_at: parse_ts(r.get(14))?,
    })
}

pub(crate) fn limit(l: Option<usize>) -> Option<i64> {
    l.map(|l| i64::try_from(l).unwrap_or(i64::MAX))
}

/// The folded tokens of a note (type, content, patient names and external id): what a search
/// matches, folded exactly as the SQLite inbox folds its index.
pub(crate) fn search_tokens(note: &askara::Note) -> Vec<String> {
    let mut text = String::new();
    if let Some(t) = &note.note_type {
        text.push_str(&t.replace('_', " "));
        text.push(' ');
    }
    text.push_str(&note.content);
    if let Some(p) = &note.patient {
        for s in [&p.first_name, &p.last_name, &p.external_id]
            .into_iter()
            .flatten()
        {
            text.push(' ');
            text.push_str(s);
        }
    }
    let folded = inbox::fold(&text);
    let mut out: Vec<String> = inbox::tokens(&folded).map(str::to_string).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The tsquery of a user's search text (every term, the last one a prefix), or `None` when
/// nothing in it is searchable. Terms are folded tokens quoted as lexemes, so nothing the user
/// types is tsquery syntax.
pub(crate) fn tsquery(text: &str) -> Option<String> {
    let terms: Vec<String> = inbox::search_terms(text)
        .iter()
        .flat_map(|t| inbox::tokens(t).map(str::to_string).collect::<Vec<_>>())
        .collect();
    let last = terms.len().checked_sub(1)?;
    Some(
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let q = format!("'{}'", t.replace('\'', "''").replace('\\', "\\\\"));
                if i == last {
                    format!("{q}:*")
                } else {
                    q
                }
            })
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn search_text_is_folded_quoted_and_the_last_word_a_prefix() {
        assert_eq!(
            tsquery("Ødegård  HYPERT").as_deref(),
            Some("'odegard' & 'hypert':*")
        );
        assert_eq!(tsquery("a' | !b:*").as_deref(), Some("'a' & 'b':*"));
        assert_eq!(tsquery(" \"&|!() ").as_deref(), None);
        assert_eq!(tsquery("").as_deref(), None);
    }

    #[test]
    fn stored_times_keep_nanoseconds_and_sort_as_text() {
        let a = parse_ts("2026-12-01T08:00:00.000000001Z").unwrap();
        let b = parse_ts("2026-12-01T08:00:00.00000001Z").unwrap();
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(a)).unwrap(), a);
    }
}
