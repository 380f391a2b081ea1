//! "Assign to patient…": the practice's own patients, found through the mapping's
//! `[patient_search]` query, each with its id and the identifiers a person needs to pick the
//! right one (name, date of birth, external id). The text searched is always a bound
//! parameter; results are capped.

use crate::value::Val;
use crate::ImportError;
use serde::Serialize;

/// Candidates returned by one search, at most: a person picks from a short list, and types
/// more (a date of birth, an id) to narrow it.
pub const MAX_CANDIDATES: usize = 50;

/// One patient of the practice database, as `[patient_search]` returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientCandidate {
    /// The practice's patient id (what the import writes), as text.
    pub id: String,
    pub name: Option<String>,
    /// As the practice database holds it (`YYYY-MM-DD` for a date column).
    pub date_of_birth: Option<String>,
    pub external_id: Option<String>,
}

pub(crate) fn not_configured() -> ImportError {
    ImportError::BadMapping(
        "the mapping has no [patient_search]: add one (a query over the practice's patients) to assign notes to patients".into(),
    )
}

/// A cell as text: ids and external ids may be numbers, a date of birth a date.
pub(crate) fn cell_text(v: Val) -> Option<String> {
    match v {
        Val::Null => None,
        Val::Text(s) => Some(s).filter(|s| !s.trim().is_empty()),
        Val::Int(i) => Some(i.to_string()),
        Val::Float(f) => Some(f.to_string()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Time(t) => Some(t.format("%Y-%m-%d").to_string()),
    }
}

/// A candidate from the first four cells of a row; `None` without an id.
pub(crate) fn candidate(cells: Vec<Val>) -> Option<PatientCandidate> {
    let mut it = cells.into_iter().map(cell_text);
    let id = it.next().flatten()?;
    Some(PatientCandidate {
        id,
        name: it.next().flatten(),
        date_of_birth: it.next().flatten().map(|d| {
            // A date stored as text with a time (`1984-03-02 00:00:00`) shows as its date.
            askara::model::birth_date(&d).unwrap_or(d)
        }),
        external_id: it.next().flatten(),
    })
}

/// Rows a search query may return, at most: it is wrapped in a `LIMIT` (one more than
/// [`MAX_CANDIDATES`], so a row without an id does not shorten a full list).
pub(crate) const SEARCH_ROW_CAP: usize = MAX_CANDIDATES + 1;

/// The configured query as run: its rows capped by the database. The query goes on lines of
/// its own, so a trailing `-- comment` cannot swallow the cap.
pub(crate) fn capped(query: &str) -> String {
    format!("SELECT * FROM (\n{query}\n) AS askara_patient_search LIMIT {SEARCH_ROW_CAP}")
}

/// The query's first keyword (comments, blanks and opening parentheses skipped), upper-cased.
fn first_keyword(query: &str) -> String {
    let mut rest = query;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(20)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A search runs as staff type, and a lookup inside every import: only a query that starts
/// with SELECT or WITH is taken (a search then runs read-only, so a WITH that writes is
/// refused too). `section` names the query in the error.
pub(crate) fn check_reads_only(query: &str, section: &str) -> Result<(), ImportError> {
    match first_keyword(query).as_str() {
        "SELECT" | "WITH" => Ok(()),
        "" => Err(ImportError::BadMapping(format!(
            "{section}.query must be a read-only SELECT (or WITH … SELECT): it starts with no keyword"
        ))),
        other => Err(ImportError::BadMapping(format!(
            "{section}.query must be a read-only SELECT (or WITH … SELECT), not {other}: it runs for staff and must never write"
        ))),
    }
}

/// A search query that writes (refused by the database's read-only mode or flag).
pub(crate) fn writes() -> ImportError {
    ImportError::BadMapping(
        "patient_search.query writes to the practice database: it must be a read-only SELECT (no INSERT, UPDATE, DELETE or locking clause)".into(),
    )
}

/// The search must return the four columns, in order.
pub(crate) const SHAPE: &str = "patient_search.query must be a read-only SELECT with one parameter, returning the patient id, a name, the date of birth and the external id (in that order; NULL where unknown)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_select_or_with_is_taken_and_the_rows_are_capped() {
        for ok in [
            "SELECT id FROM p WHERE n = $1",
            "  -- by name\n/* x */ (select id FROM p WHERE n = $1)",
            "WITH x AS (SELECT 1) SELECT id FROM p WHERE n = $1",
        ] {
            assert!(check_reads_only(ok, "patient_search").is_ok(), "{ok}");
        }
        for bad in [
            "DELETE FROM p WHERE n = $1 RETURNING id",
            "/* SELECT */ UPDATE p SET n = $1",
            "-- SELECT\nINSERT INTO p VALUES ($1)",
            "VALUES ($1)",
            "",
        ] {
            let e = check_reads_only(bad, "patient_lookup")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("patient_lookup.query"), "{e}");
            assert!(e.contains("read-only"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let q = capped("SELECT id FROM p WHERE n = $1 -- trailing");
        assert!(q.ends_with(&format!(
            "\n) AS askara_patient_search LIMIT {SEARCH_ROW_CAP}"
        )));
    }

    #[test]
    fn cells_become_text_and_rows_without_an_id_are_skipped() {
        let c = candidate(vec![
            Val::Int(10023),
            Val::Text("Haugen, Ørjan".into()),
            Val::Text("1984-03-02 00:00:00".into()),
            Val::Null,
        ]);
        assert_eq!(
            c,
            Some(PatientCandidate {
                id: "10023".into(),
                name: Some("Haugen, Ørjan".into()),
                date_of_birth: Some("1984-03-02".into()),
                external_id: None,
            })
        );
        assert_eq!(candidate(vec![Val::Null, Val::Text("x".into())]), None);
        assert_eq!(candidate(vec![Val::Text("  ".into())]), None);
    }
}
