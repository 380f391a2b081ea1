//! A mapping checked against the live table before any write: columns exist, kinds fit,
//! the lookup query's types match.

#[allow(unused_imports)]
use super::*;

pub(super) fn pg_kind_fits(kind: Kind, ty: &Type) -> bool {
    match kind {
        Kind::Text => is_pg_text(ty),
        Kind::Uuid => is_pg_text(ty) || *ty == Type::UUID,
        Kind::Time => is_pg_text(ty) || *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP,
        Kind::Int => {
            is_pg_text(ty)
                || matches!(
                    *ty,
                    Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8
                )
        }
        Kind::Float => is_pg_text(ty) || matches!(*ty, Type::FLOAT4 | Type::FLOAT8),
        Kind::Bool => is_pg_text(ty) || *ty == Type::BOOL,
    }
}

/// Resolves the table and columns as the catalog spells them, and checks every column.
pub(super) async fn validate(
    spec: &PgSpec,
    client: &Client,
    mut m: Mapping,
) -> Result<Mapping, ImportError> {
    let err = |e: tokio_postgres::Error| pg_err(spec, "reading the target table's definition", &e);
    let tables = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND lower(c.relname) = lower($2)
               AND CASE WHEN $1::text IS NULL THEN pg_table_is_visible(c.oid) ELSE lower(n.nspname) = lower($1) END
             ORDER BY (c.relname = $2) DESC, (n.nspname = coalesce($1, n.nspname)) DESC",
            &[&m.table.schema, &m.table.name],
        )
        .await
        .map_err(err)?;
    let Some(t) = tables.first() else {
        return Err(ImportError::BadMapping(format!(
            "table `{}` does not exist in database `{}` (or user `{}` cannot see it): fix `table` in the mapping",
            m.table.display(),
            spec.dbname,
            spec.user
        )));
    };
    let oid: u32 = t.get(0);
    m.table = Ident {
        schema: Some(t.get(1)),
        name: t.get(2),
    };
    let table_name = m.table.display();
    let cols = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.attnotnull,
                    a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', format_type(a.atttypid, a.atttypmod), a.attnum
             FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
            &[&oid],
        )
        .await
        .map_err(err)?;
    struct Col {
        name: String,
        ty: Option<Type>,
        notnull: bool,
        has_default: bool,
        type_name: String,
        attnum: i16,
    }
    let cols: Vec<Col> = cols
        .iter()
        .map(|r| Col {
            name: r.get(0),
            ty: Type::from_oid(r.get(1)),
            notnull: r.get(2),
            has_default: r.get(3),
            type_name: r.get(4),
            attnum: r.get(5),
        })
        .collect();
    let find = |c: &Ident| -> Result<&Col, ImportError> {
        cols.iter()
            .find(|x| x.name == c.name)
            .or_else(|| cols.iter().find(|x| x.name.eq_ignore_ascii_case(&c.name)))
            .ok_or_else(|| {
                ImportError::BadMapping(format!(
                    "column `{}` does not exist in table `{table_name}`: fix the mapping",
                    c.name
                ))
            })
    };
    let resolve = |c: &mut Ident| -> Result<(), ImportError> {
        c.name = find(c)?.name.clone();
        Ok(())
    };
    for (_, c) in m.columns.iter_mut() {
        resolve(c)?;
    }
    for (c, _) in m.constants.iter_mut() {
        resolve(c)?;
    }
    if let Some(l) = m.patient_lookup.as_mut() {
        resolve(&mut l.column)?;
    }
    for (col, src) in m.sources() {
        let c = find(&col)?;
        let kind = match &src {
            Source::Field(f) => Some(f.kind()),
            Source::Const(v) => Some(match v {
                Val::Text(_) => Kind::Text,
                Val::Int(_) => Kind::Int,
                Val::Float(_) => Kind::Float,
                Val::Bool(_) => Kind::Bool,
                _ => Kind::Text,
            }),
            Source::PatientId => None, // checked against the lookup's result type later
        };
        if let Some(kind) = kind {
            if !c.ty.as_ref().is_some_and(|ty| pg_kind_fits(kind, ty)) {
                let what = match &src {
                    Source::Field(f) => format!("the note's {}", f.name()),
                    _ => "the constant".to_string(),
                };
                return Err(ImportError::BadMapping(format!(
                    "column `{}` of table `{table_name}` has type {} and cannot take {what}: map a column of a fitting type",
                    c.name, c.type_name
                )));
            }
        }
    }
    let mapped: Vec<&str> = m
        .columns
        .iter()
        .map(|(_, c)| c.name.as_str())
        .chain(m.constants.iter().map(|(c, _)| c.name.as_str()))
        .chain(m.patient_lookup.iter().map(|l| l.column.name.as_str()))
        .collect();
    if let Some(c) = cols
        .iter()
        .find(|c| c.notnull && !c.has_default && !mapped.contains(&c.name.as_str()))
    {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` is NOT NULL without a default and the mapping gives it no value: map it or add a constant",
            c.name
        )));
    }
    let uuid_col = find(m.uuid_column())?;
    let unique: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique
                AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = $2)",
            &[&oid, &uuid_col.attnum],
        )
        .await
        .map_err(err)?
        .get(0);
    if !unique {
        return Err(ImportError::BadMapping(format!(
            "column `{}` of table `{table_name}` has no unique constraint or unique index, so a note could be imported twice: \
             add one (ALTER TABLE {table_name} ADD UNIQUE ({})) first",
            uuid_col.name, uuid_col.name
        )));
    }
    if let Some(l) = &m.patient_lookup {
        let q = l.query.trim_start().to_ascii_lowercase();
        if !(q.starts_with("select") || q.starts_with("with")) {
            return Err(ImportError::BadMapping(
                "patient_lookup.query must be a SELECT".into(),
            ));
        }
    }
    Ok(m)
}

pub(super) fn check_lookup_types(
    m: &Mapping,
    sources: &[(Ident, Source)],
    lookup: &Statement,
    data_insert: &Option<Statement>,
) -> Result<(), ImportError> {
    if lookup.params().len() != 1 || lookup.columns().is_empty() {
        return Err(ImportError::BadMapping(
            "patient_lookup.query must take exactly one parameter and return the patient id as its first column".into(),
        ));
    }
    let out = lookup.columns()[0].type_();
    if !pg_readable(out) {
        return Err(ImportError::BadMapping(format!(
            "patient_lookup.query returns a {} id; return an integer, text or uuid",
            out.name()
        )));
    }
    let (Some(ins), Some(pos), Some(l)) = (
        data_insert,
        sources.iter().position(|(_, s)| *s == Source::PatientId),
        &m.patient_lookup,
    ) else {
        return Ok(());
    };
    let col_ty = &ins.params()[pos];
    let fits = col_ty == out
        || is_pg_text(col_ty)
        || (matches!(*out, Type::INT2 | Type::INT4 | Type::INT8)
            && matches!(*col_ty, Type::INT2 | Type::INT4 | Type::INT8))
        || (is_pg_text(out) && *col_ty == Type::UUID);
    if !fits {
        return Err(ImportError::BadMapping(format!(
            "column `{}` has type {} but patient_lookup.query returns {}: make them match",
            l.column.name,
            col_ty.name(),
            out.name()
        )));
    }
    Ok(())
}

/// `[patient_search]`: one text parameter (what staff typed), and four columns this build can
/// read (the id; a name, date of birth and external id as text, numbers or dates).
pub(super) fn check_search_types(search: &Statement) -> Result<(), ImportError> {
    if search.params().len() != 1 || search.columns().len() < 4 {
        return Err(ImportError::BadMapping(crate::search::SHAPE.into()));
    }
    let p = &search.params()[0];
    if !is_pg_text(p) {
        return Err(ImportError::BadMapping(format!(
            "patient_search.query's parameter is taken as {}: it is the text typed, so compare it as text (write $1::text, or CAST(id AS text) = $1)",
            p.name()
        )));
    }
    for (i, c) in search.columns().iter().take(4).enumerate() {
        if !<Cell as tokio_postgres::types::FromSql>::accepts(c.type_()) {
            return Err(ImportError::BadMapping(format!(
                "patient_search.query's column {} ({}) has type {}: return text, an integer, a uuid or a date (cast it)",
                i + 1,
                ["the patient id", "the name", "the date of birth", "the external id"][i],
                c.type_().name()
            )));
        }
    }
    Ok(())
}

/// The text a search is tried with at connect: it matches no one in practice.
const SEARCH_PROBE: &str = "askara-inbox: checking patient_search.query";

/// Runs `[patient_search]` once, as every search runs it (a READ ONLY transaction, rolled
/// back) and reading at most one row, so a query that writes (`WITH d AS (DELETE …) SELECT`,
/// `FOR UPDATE`) is refused at connect rather than at the first keystroke. Any other failure
/// is left to `prepare` and the type checks, which say it in their words.
pub(super) async fn check_search_reads_only(
    spec: &PgSpec,
    client: &mut Client,
    query: &str,
    opts: &ConnectOptions,
) -> Result<(), ImportError> {
    let err = |e: tokio_postgres::Error| pg_err(spec, "checking patient_search.query", &e);
    let trial = async {
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(err)?;
        let failure = match tx.prepare(query).await {
            Ok(stmt) => match tx.bind(&stmt, &[&SEARCH_PROBE]).await {
                Ok(portal) => tx.query_portal(&portal, 1).await.err(),
                Err(e) => Some(e),
            },
            Err(e) => Some(e),
        };
        tx.rollback().await.map_err(err)?;
        Ok::<_, ImportError>(failure)
    };
    match tokio::time::timeout(opts.operation_timeout, trial).await {
        Ok(Ok(Some(e))) if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => {
            Err(crate::search::writes())
        }
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e),
        // Slow on this probe: searches run read-only anyway.
        Err(_) => {
            tracing::warn!("patient_search.query took too long to try at connect; searches still run read-only");
            Ok(())
        }
    }
}
