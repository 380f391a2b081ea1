//! A mapping checked against the live SQLite table before any write: columns exist and
//! their declared types fit.

#[allow(unused_imports)]
use super::*;

/// SQLite type affinity of a declared column type (section 3.1 of SQLite's datatype docs).
pub(super) fn affinity(decl: &str) -> &'static str {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        "INTEGER"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "TEXT"
    } else if d.is_empty() || d.contains("BLOB") {
        "BLOB"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

pub(super) fn kind_fits(kind: Option<Kind>, decl: &str) -> bool {
    let a = affinity(decl);
    match kind {
        // Text in an INTEGER/REAL/NUMERIC column would be silently converted when it looks
        // like a number ("123" → 123): refuse.
        Some(Kind::Text) | Some(Kind::Uuid) => matches!(a, "TEXT" | "BLOB"),
        // RFC 3339 text never looks like a number, so DATETIME (NUMERIC) columns are fine.
        Some(Kind::Time) => matches!(a, "TEXT" | "BLOB" | "NUMERIC"),
        Some(Kind::Int) | Some(Kind::Float) | Some(Kind::Bool) => true,
        None => true, // patient id: whatever the lookup returns
    }
}

pub(super) struct ColInfo {
    name: String,
    decl: String,
    notnull: bool,
    has_default: bool,
    pk: i64,
}

pub(super) fn validate(conn: &Connection, m: &Mapping) -> Result<(), ImportError> {
    let err = |e| sqlite_err("reading the target table's definition", e);
    let schema = m.table.schema.clone().unwrap_or_else(|| "main".to_string());
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1, ?2)")
        .map_err(err)?;
    let cols: Vec<ColInfo> = stmt
        .query_map(params![m.table.name, schema], |r| {
            Ok(ColInfo {
                name: r.get(0)?,
                decl: r.get(1)?,
                notnull: r.get(2)?,
                has_default: r.get(3)?,
                pk: r.get(4)?,
            })
        })
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    if cols.is_empty() {
        return Err(ImportError::BadMapping(format!(
            "table `{}` does not exist in the SQLite file: fix `table` in the mapping",
            m.table.display()
        )));
    }
    let table_name = m.table.display();
    let find = |c: &Ident| cols.iter().find(|ci| ci.name.eq_ignore_ascii_case(&c.name));
    for (col, src) in m.sources() {
        let ci = find(&col).ok_or_else(|| {
            ImportError::BadMapping(format!(
                "column `{}` does not exist in table `{table_name}`: fix the mapping",
                col.name
            ))
        })?;
        let kind = match &src {
            Source::Field(f) => Some(f.kind()),
            Source::PatientId => None,
            Source::Const(v) => Some(match v {
                Val::Text(_) => Kind::Text,
                _ => Kind::Int,
            }),
        };
        if !kind_fits(kind, &ci.decl) {
            return Err(ImportError::BadMapping(format!(
                "column `{}` of table `{table_name}` is declared {} and cannot hold {}: map a text column",
                ci.name,
                if ci.decl.is_empty() { "without a type" } else { ci.decl.as_str() },
                match &src {
                    Source::Field(f) => f.name().to_string(),
                    _ => "this value".to_string(),
                }
            )));
        }
    }
    let mapped: Vec<String> = m
        .sources()
        .iter()
        .map(|(c, _)| c.name.to_ascii_lowercase())
        .collect();
    let int_pk = cols.iter().filter(|c| c.pk > 0).count() == 1;
    for c in &cols {
        let rowid_alias = int_pk && c.pk > 0 && c.decl.eq_ignore_ascii_case("INTEGER");
        if c.notnull
            && !c.has_default
            && !rowid_alias
            && !mapped.contains(&c.name.to_ascii_lowercase())
        {
            return Err(ImportError::BadMapping(format!(
                "column `{}` of table `{table_name}` is NOT NULL without a default and the mapping gives it no value: map it or add a constant",
                c.name
            )));
        }
    }
    // The uuid column must carry a unique constraint or a unique index of its own.
    let uuid_col = m.uuid_column();
    let mut idx = conn
        .prepare("SELECT name FROM pragma_index_list(?1, ?2) WHERE \"unique\" = 1 AND partial = 0")
        .map_err(err)?;
    let indexes: Vec<String> = idx
        .query_map(params![m.table.name, schema], |r| r.get(0))
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let mut unique = false;
    for name in indexes {
        let mut info = conn
            .prepare("SELECT name FROM pragma_index_info(?1, ?2)")
            .map_err(err)?;
        let icols: Vec<Option<String>> = info
            .query_map(params![name, schema], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        if icols.len() == 1
            && icols[0]
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&uuid_col.name))
        {
            unique = true;
        }
    }
    if !unique {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` has no unique constraint or unique index, so a note could be imported twice: \
             CREATE UNIQUE INDEX ON {table_name} ({}) first",
            uuid_col.name, uuid_col.name
        )));
    }
    if let Some(l) = &m.patient_lookup {
        let q = l.query_for(false);
        let stmt = conn.prepare(&q).map_err(|e| {
            ImportError::BadMapping(format!(
                "patient_lookup.query does not run on this database: {e}"
            ))
        })?;
        if stmt.parameter_count() != 1 || stmt.column_count() < 1 || !stmt.readonly() {
            return Err(ImportError::BadMapping(
                "patient_lookup.query must be a read-only SELECT with exactly one parameter that returns the patient id".into(),
            ));
        }
    }
    if let Some(s) = &m.patient_search {
        crate::search::check_reads_only(&s.query, "patient_search")?;
        let does_not_run = |e: rusqlite::Error| {
            ImportError::BadMapping(format!(
                "patient_search.query does not run on this database: {e}"
            ))
        };
        let q = s.query_for(false);
        let stmt = conn.prepare(&q).map_err(does_not_run)?;
        // SQLite says whether the statement writes (`WITH … DELETE` starts with WITH).
        if !stmt.readonly() {
            return Err(crate::search::writes());
        }
        if stmt.parameter_count() != 1 || stmt.column_count() < 4 {
            return Err(ImportError::BadMapping(crate::search::SHAPE.into()));
        }
        // As it runs: capped.
        conn.prepare(&crate::search::capped(&q))
            .map_err(does_not_run)?;
    }
    Ok(())
}
