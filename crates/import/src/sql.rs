//! The statements of one target, built once from validated, quoted identifiers. Values are
//! always parameters.

use crate::mapping::{Field, Ident, Mapping, Source};
use crate::schema::LOG_TABLE;

pub(crate) struct Statements {
    /// Default schema: the row itself, `ON CONFLICT DO NOTHING`. Mapped: the log entry.
    pub claim_insert: String,
    /// `content_sha256, imported_at, imported_by` of the claim for `uuid` (param 1).
    pub claim_select: String,
    /// Mapped only: refresh the log entry (same params as the mapped `claim_insert`).
    pub claim_update: String,
    /// The patient the target's row for `uuid` (param 1) is filed under, as text: the
    /// practice patient id column, else the Askara patient uuid column; `None` when the
    /// mapping writes neither (see [`crate::row::patient_slot`]).
    pub patient_select: Option<String>,
    /// Mapped only: plain insert of the practice row.
    pub data_insert: String,
    /// Update of every mapped column, `WHERE uuid_column = <last param>`.
    pub data_update: String,
    pub lookup: Option<String>,
    /// Mapped only: the `[patient_search]` query, its parameter numbered for the database, its
    /// rows capped (`search::capped`).
    pub search: Option<String>,
    pub mapped: bool,
}

impl Statements {
    pub(crate) fn new(
        mapping: &Mapping,
        sources: &[(Ident, Source)],
        mapped: bool,
        pg: bool,
    ) -> Statements {
        let p = |i: usize| if pg { format!("${i}") } else { format!("?{i}") };
        let table = mapping.table.quoted();
        let cols: Vec<String> = sources.iter().map(|(c, _)| c.quoted()).collect();
        let placeholders: Vec<String> = (1..=cols.len()).map(p).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            placeholders.join(", ")
        );
        let uuid_col = sources
            .iter()
            .find(|(_, s)| *s == Source::Field(Field::Uuid))
            .map(|(c, _)| c.quoted())
            .unwrap_or_else(|| "\"uuid\"".to_string());
        let sets: Vec<String> = cols
            .iter()
            .zip(&placeholders)
            .map(|(c, ph)| format!("{c} = {ph}"))
            .collect();
        let data_update = format!(
            "UPDATE {table} SET {} WHERE {uuid_col} = {}",
            sets.join(", "),
            p(cols.len() + 1)
        );
        let lock = if pg { " FOR UPDATE" } else { "" };
        let patient_select = crate::row::patient_slot(sources).map(|i| {
            format!(
                "SELECT CAST({} AS TEXT) FROM {table} WHERE {uuid_col} = {}",
                sources[i].0.quoted(),
                p(1)
            )
        });
        let log_cols = "uuid, content_sha256, imported_at, imported_by, workstation, target_table";
        let log_params: Vec<String> = (1..=6).map(p).collect();
        if mapped {
            Statements {
                claim_insert: format!(
                    "INSERT INTO {LOG_TABLE} ({log_cols}) VALUES ({}) ON CONFLICT (uuid) DO NOTHING",
                    log_params.join(", ")
                ),
                claim_select: format!(
                    "SELECT content_sha256, imported_at, imported_by FROM {LOG_TABLE} WHERE uuid = {}{lock}",
                    p(1)
                ),
                claim_update: format!(
                    "UPDATE {LOG_TABLE} SET content_sha256 = {}, imported_at = {}, imported_by = {}, \
                     workstation = {}, target_table = {} WHERE uuid = {}",
                    p(2),
                    p(3),
                    p(4),
                    p(5),
                    p(6),
                    p(1)
                ),
                patient_select,
                data_insert: insert,
                data_update,
                lookup: mapping.patient_lookup.as_ref().map(|l| l.query_for(pg)),
                search: mapping
                    .patient_search
                    .as_ref()
                    .map(|s| crate::search::capped(&s.query_for(pg))),
                mapped,
            }
        } else {
            Statements {
                claim_insert: format!("{insert} ON CONFLICT ({uuid_col}) DO NOTHING"),
                claim_select: format!(
                    "SELECT content_sha256, imported_at, imported_by FROM {table} WHERE {uuid_col} = {}{lock}",
                    p(1)
                ),
                claim_update: String::new(),
                patient_select,
                data_insert: String::new(),
                data_update,
                lookup: None,
                search: None,
                mapped,
            }
        }
    }
}
