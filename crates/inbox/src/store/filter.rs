//! The SQL of a [`NoteFilter`], and the values the filters can take ([`NoteFacets`]).
//!
//! A date range is a range of the time key (`notes.id`, = `notes_fts.rowid`): the primary key
//! (or FTS5, which bounds its walk by rowid) serves it, no `created_at` text is compared. A
//! note's key always lies within its createdAt second (a taken key moves to the next free one
//! of the same second, see `free_key`), so bounds on whole seconds are exact; a bound inside a
//! second narrows by key to that second and compares `created_at` for the rest.

#[allow(unused_imports)]
use super::*;
use crate::filter::{NoteFacets, NoteFilter};

/// Most distinct values [`facets_blocking`] returns per filter.
pub(super) const MAX_FACETS: usize = 500;

fn second_key(secs: i64) -> i64 {
    secs.saturating_mul(SLOTS_PER_SECOND)
}

fn within_second(t: &DateTime<Utc>) -> bool {
    t.timestamp_subsec_nanos() > 0
}

/// Whether the filter reads columns of the row `n` (a search joins `notes` only then).
pub(super) fn needs_row(f: &NoteFilter) -> bool {
    f.note_type.is_some()
        || f.author.is_some()
        || f.since.as_ref().is_some_and(within_second)
        || f.before.as_ref().is_some_and(within_second)
}

/// Appends the filter's conditions: the key range on `key` (`n.id`, or `notes_fts.rowid`), the
/// rest on the row `n`.
///
/// Which `(value, id)` index walks the list is chosen here, not left to SQLite (which has no
/// statistics and takes the last index made): a patient's few notes (`by_patient`) before an
/// author's, an author's before a type's (a clinic has a few types and many clinicians). A
/// unary `+` keeps SQLite off the index of a column that is only checked.
pub(super) fn push_filter(
    f: &NoteFilter,
    key: &str,
    by_patient: bool,
    sql: &mut String,
    args: &mut Vec<Box<dyn ToSql>>,
) {
    if let Some(t) = f.since {
        sql.push_str(&format!(" AND {key} >= ?"));
        args.push(Box::new(second_key(t.timestamp())));
        if within_second(&t) {
            sql.push_str(" AND n.created_at >= ?");
            args.push(Box::new(ts(t)));
        }
    }
    if let Some(t) = f.before {
        // Keys of the second that holds `before` are below the next second's first key.
        let end = t.timestamp().saturating_add(i64::from(within_second(&t)));
        sql.push_str(&format!(" AND {key} < ?"));
        args.push(Box::new(second_key(end)));
        if within_second(&t) {
            sql.push_str(" AND n.created_at < ?");
            args.push(Box::new(ts(t)));
        }
    }
    if let Some(t) = &f.note_type {
        let checked = by_patient || f.author.is_some();
        sql.push_str(if checked {
            " AND +n.note_type = ?"
        } else {
            " AND n.note_type = ?"
        });
        args.push(Box::new(t.clone()));
    }
    if let Some(a) = &f.author {
        sql.push_str(if by_patient {
            " AND +n.author_user_id = ?"
        } else {
            " AND n.author_user_id = ?"
        });
        args.push(Box::new(a.clone()));
    }
    if f.needs_patient {
        // The few notes that need a patient come from their partial index, as a set of keys.
        // A list walks that set. A search keeps walking FTS5's matches newest first and probes
        // the set (the unary `+`): handed to FTS5 as rowid lookups, each one re-read the
        // whole doclist of a common word (80 ms at 100,000 notes).
        let probe = if key == "n.id" { "" } else { "+" };
        sql.push_str(&format!(
            " AND {probe}{key} IN (SELECT n.id FROM notes n {} WHERE {})",
            crate::patients::NEEDS_PATIENT_INDEX,
            crate::patients::NEEDS_PATIENT
        ));
    }
}

/// For tests and benchmarks: the query plan of a list, one line per step.
#[doc(hidden)]
pub fn explain_list(path: &Path, key: &InboxKey, q: &ListQuery) -> Result<Vec<String>, InboxError> {
    let c = db::connect(path, key)?;
    let (sql, args) = list_sql(q);
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The distinct note types and authors in the inbox, sorted. Each is a loose index scan (one
/// seek per distinct value on its `(value, id)` index), so it costs the same at 100,000 notes
/// as at 100.
pub(super) fn facets_blocking(c: &Connection) -> Result<NoteFacets, InboxError> {
    let distinct = |col: &str| -> Result<Vec<String>, InboxError> {
        let sql = format!(
            "WITH RECURSIVE v(x) AS (
                 SELECT (SELECT min({col}) FROM notes)
                 UNION ALL
                 SELECT (SELECT min({col}) FROM notes WHERE {col} > v.x) FROM v
                  WHERE v.x IS NOT NULL
                 LIMIT ?1
             )
             SELECT x FROM v WHERE x IS NOT NULL AND x <> ''"
        );
        let limit = i64::try_from(MAX_FACETS + 1).unwrap_or(i64::MAX);
        Ok(c.prepare_cached(&sql)?
            .query_map([limit], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?)
    };
    Ok(NoteFacets {
        note_types: distinct("note_type")?,
        authors: distinct("author_user_id")?,
    })
}
