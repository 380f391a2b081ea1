//! Search: accent- and case-folded FTS5 in two phases (ids in order, then rows), and the
//! query plan for tests.

#[allow(unused_imports)]
use super::*;

pub(super) fn search_blocking(
    c: &Connection,
    text: &str,
    q: &SearchQuery,
) -> Result<SearchResults, InboxError> {
    let terms = search_terms(text);
    let expansion = match terms.last() {
        Some(last) => expand_prefix(c, last)?,
        None => None,
    };
    let Some(mut expr) = build_fts_query(&terms, expansion.as_deref()) else {
        return Ok(SearchResults {
            notes: Vec::new(),
            order: q.order,
        });
    };
    if let Some(tok) = q.patient_uuid.as_deref().and_then(patient_token) {
        expr = format!("({expr}) AND (pt : \"{tok}\")");
    }
    let mut order = q.order;
    if order == SearchOrder::Relevance {
        let matches: i64 = c
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM notes_fts WHERE notes_fts MATCH ?1 LIMIT ?2)",
            )?
            .query_row(
                params![
                    expr,
                    i64::try_from(RELEVANCE_MAX_MATCHES + 1).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )?;
        if usize::try_from(matches).unwrap_or(usize::MAX) > RELEVANCE_MAX_MATCHES {
            order = SearchOrder::Newest;
        }
    }
    let (sql, args) = search_ids_sql(expr, q, order);
    let ids: Vec<i64> = c
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut by_id = c.prepare_cached(&format!(
        "SELECT {NOTE_COLS}, {RECORD_TAIL} FROM notes n WHERE n.id = ?1"
    ))?;
    let mut notes = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(n) = by_id.query_row([id], note_from_row).optional()? {
            notes.push(n);
        }
    }
    Ok(SearchResults { notes, order })
}

/// Most exact terms a last-word prefix is expanded into; beyond it the FTS5 prefix query runs.
pub(super) const MAX_PREFIX_EXPANSION: usize = 24;

/// The indexed terms starting with `prefix`, when it is one token and they are few; `None`
/// means "let FTS5 do the prefix match".
pub(super) fn expand_prefix(
    c: &Connection,
    prefix: &str,
) -> Result<Option<Vec<String>>, InboxError> {
    if prefix.is_empty() || !prefix.chars().all(char::is_alphanumeric) {
        return Ok(None);
    }
    let upper = format!("{prefix}\u{10FFFF}");
    let found: Vec<String> = c
        .prepare_cached(
            "SELECT term FROM fts_terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
        )?
        .query_map(
            params![
                prefix,
                upper,
                i64::try_from(MAX_PREFIX_EXPANSION + 1).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    Ok((!found.is_empty() && found.len() <= MAX_PREFIX_EXPANSION).then_some(found))
}

/// Phase one of a search: the matching ids, in order. CROSS JOIN keeps notes_fts the outer
/// loop, so FTS5 yields matches already in rowid (= createdAt) order and the LIMIT stops it
/// early; filters touch only the small leading columns of `notes`. A date range bounds the
/// rowids FTS5 walks (no join for it). Phase two reads the rows.
pub(super) fn search_ids_sql(
    expr: String,
    q: &SearchQuery,
    order: SearchOrder,
) -> (String, Vec<Box<dyn ToSql>>) {
    let mut sql = String::from("SELECT notes_fts.rowid FROM notes_fts");
    if q.status.is_some() || q.patient_uuid.is_some() || needs_row(&q.filter) {
        sql.push_str(" CROSS JOIN notes n ON n.id = notes_fts.rowid");
    }
    sql.push_str(" WHERE notes_fts MATCH ?");
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(expr)];
    if let Some(s) = q.status {
        sql.push_str(" AND n.status = ?");
        args.push(Box::new(s));
    }
    if let Some(p) = &q.patient_uuid {
        sql.push_str(" AND n.patient_uuid = ?");
        args.push(Box::new(p.clone()));
    }
    push_filter(&q.filter, "notes_fts.rowid", false, &mut sql, &mut args);
    sql.push_str(match order {
        SearchOrder::Newest => " ORDER BY notes_fts.rowid DESC LIMIT ?",
        SearchOrder::Relevance => " ORDER BY notes_fts.rank, notes_fts.rowid DESC LIMIT ?",
    });
    args.push(Box::new(limit_param(Some(q.limit))));
    (sql, args)
}

/// For tests and benchmarks: the query plan of a search's first phase, one line per step.
#[doc(hidden)]
pub fn explain_search(
    path: &Path,
    key: &InboxKey,
    text: &str,
    q: &SearchQuery,
) -> Result<Vec<String>, InboxError> {
    let c = db::connect(path, key)?;
    let expr = fts_query(text).unwrap_or_default();
    let (sql, args) = search_ids_sql(expr, q, q.order);
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = st.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
