//! How notes, times and states are stored: column encodings, the time-ordered note key,
//! and rows back into records.

#[allow(unused_imports)]
use super::*;

/// Stored timestamp form: fixed width, UTC, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub(super) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn ts_col(r: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(idx)?;
    parse_ts(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("not a timestamp: {s}").into(),
        )
    })
}

pub(crate) fn opt_ts_col(r: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        _ => ts_col(r, idx).map(Some),
    }
}

pub(crate) fn json_col(r: &Row, idx: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(idx)?;
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

impl ToSql for Status {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Status {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: InboxError| FromSqlError::Other(e.into()))
    }
}

impl ToSql for Source {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Source {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: InboxError| FromSqlError::Other(e.into()))
    }
}

/// Sub-second slots in a note's time key: `id = createdAt seconds * 2^24 + fraction * 2^24`.
/// Fits i64 for years within ±17,000 of 1970.
pub(super) const SLOTS_PER_SECOND: i64 = 1 << 24;

pub(super) fn time_key(t: DateTime<Utc>) -> Option<i64> {
    let nanos = i64::from(t.timestamp_subsec_nanos().min(999_999_999));
    let frac = nanos * SLOTS_PER_SECOND / 1_000_000_000;
    t.timestamp()
        .checked_mul(SLOTS_PER_SECOND)?
        .checked_add(frac)
}

/// The time key for a note created at `t`: its base key, or the first free key after it within
/// the same second (notes sharing an instant keep arrival order).
pub(super) fn free_key(c: &Connection, uuid: &str, t: DateTime<Utc>) -> Result<i64, InboxError> {
    let base = time_key(t).ok_or_else(|| InboxError::InvalidNote {
        uuid: uuid.to_string(),
        reason: "its createdAt is outside the supported years".into(),
    })?;
    if !key_taken(c, base)? {
        return Ok(base);
    }
    let second_end = (base.div_euclid(SLOTS_PER_SECOND) + 1) * SLOTS_PER_SECOND;
    // Right after the last note created at this very instant: one index walk from the top of
    // the second (a burst of 100,000 notes created in one second made probing for the first
    // gap quadratic), and notes of one instant keep their arrival order.
    let last_same: Option<i64> = c
        .prepare_cached(
            "SELECT id FROM notes WHERE id >= ?1 AND id < ?2 AND created_at = ?3
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![base, second_end, ts(t)], |r| r.get(0))
        .optional()?;
    if let Some(k) = last_same.map(|id| id + 1).filter(|k| *k < second_end) {
        if !key_taken(c, k)? {
            return Ok(k);
        }
    }
    // Otherwise the first free key after the base.
    c.prepare_cached(
        "SELECT n.id + 1 FROM notes n
          WHERE n.id >= ?1 AND n.id < ?2 - 1
            AND NOT EXISTS (SELECT 1 FROM notes m WHERE m.id = n.id + 1)
          ORDER BY n.id LIMIT 1",
    )?
    .query_row([base, second_end], |r| r.get(0))
    .optional()?
    .ok_or_else(|| InboxError::InvalidNote {
        uuid: uuid.to_string(),
        reason: "more than 16 million notes share its createdAt second".into(),
    })
}

fn key_taken(c: &Connection, key: i64) -> Result<bool, InboxError> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM notes WHERE id = ?1)")?
            .query_row([key], |r| r.get(0))?,
    )
}

/// `raw` with its `content` string replaced by null when it equals `content` (so the text is
/// stored once); the flag says to put it back on reading.
pub(super) fn elide_content(mut raw: Value, content: &str) -> (String, bool) {
    let mut elided = false;
    if let Some(v) = raw.get_mut("content") {
        if v.as_str() == Some(content) {
            *v = Value::Null;
            elided = true;
        }
    }
    (raw.to_string(), elided)
}

pub(super) fn restore_content(mut raw: Value, elided: bool, content: &str) -> Value {
    if elided {
        if let Some(v) = raw.get_mut("content") {
            *v = Value::String(content.to_string());
        }
    }
    raw
}

pub(super) fn raw_or_rfc3339(raw: &str, t: DateTime<Utc>) -> String {
    if raw.is_empty() {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        raw.to_string()
    }
}

/// The columns after [`NOTE_COLS`] that only a `NoteRecord` has.
pub(crate) const RECORD_TAIL: &str =
    "n.first_seen_at, n.source, n.verified, n.author_user_id, n.patient_date_of_birth";

/// Columns read into a `NoteRecord`/`NoteVersion` (same order in both tables).
pub(crate) const NOTE_COLS: &str = "n.uuid, n.note_type, n.content, n.created_at, n.updated_at, \
     n.created_at_raw, n.updated_at_raw, n.has_patient, n.patient_uuid, n.patient_first_name, \
     n.patient_last_name, n.patient_external_id, n.status, n.raw, n.raw_content_elided";

pub(super) fn patient_cols(r: &Row, first: usize) -> rusqlite::Result<Option<askara::Patient>> {
    let has: bool = r.get(first)?;
    has.then(|| -> rusqlite::Result<askara::Patient> {
        Ok(askara::Patient {
            uuid: r.get(first + 1)?,
            first_name: r.get(first + 2)?,
            last_name: r.get(first + 3)?,
            external_id: r.get(first + 4)?,
            date_of_birth: None,
        })
    })
    .transpose()
}

pub(crate) fn note_from_row(r: &Row) -> rusqlite::Result<NoteRecord> {
    let content: String = r.get(2)?;
    let raw = restore_content(json_col(r, 13)?, r.get(14)?, &content);
    let mut patient = patient_cols(r, 7)?;
    if let Some(p) = patient.as_mut() {
        p.date_of_birth = r.get(19)?;
    }
    Ok(NoteRecord {
        uuid: r.get(0)?,
        note_type: r.get(1)?,
        created_at: ts_col(r, 3)?,
        updated_at: ts_col(r, 4)?,
        created_at_raw: r.get(5)?,
        updated_at_raw: r.get(6)?,
        patient,
        status: r.get(12)?,
        raw,
        content,
        first_seen_at: ts_col(r, 15)?,
        source: r.get(16)?,
        verified: r.get(17)?,
        author_user_id: r.get(18)?,
    })
}

pub(super) fn version_from_row(r: &Row) -> rusqlite::Result<NoteVersion> {
    let content: String = r.get(2)?;
    let raw = restore_content(json_col(r, 13)?, r.get(14)?, &content);
    Ok(NoteVersion {
        uuid: r.get(0)?,
        note_type: r.get(1)?,
        created_at: ts_col(r, 3)?,
        updated_at: ts_col(r, 4)?,
        created_at_raw: r.get(5)?,
        updated_at_raw: r.get(6)?,
        patient: patient_cols(r, 7)?,
        status: r.get(12)?,
        raw,
        content,
        replaced_at: ts_col(r, 15)?,
    })
}

pub(crate) fn limit_param(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
}
