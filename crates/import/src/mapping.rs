//! Mapping Askara notes onto an existing practice table, read from TOML:
//!
//! ```toml
//! table = "practice.consultation_notes"   # optional schema prefix
//!
//! [columns]                 # Askara field = practice column; any subset, `uuid` required
//! uuid = "askara_uuid"
//! content = "body"
//! created_at = "written_at"
//!
//! [constants]               # practice column = constant value (optional)
//! source = "askara"
//!
//! [patient_lookup]          # optional
//! query = "SELECT id FROM patients WHERE external_ref = $1"   # `$1` or `?`
//! key = "external_id"       # or "uuid": which Askara patient field is bound
//! column = "patient_id"     # where the practice's patient id is written
//! on_missing = "fail"       # or "null": import with NULL when nobody is found
//!
//! [patient_search]          # optional: "Assign to patient…" searches the practice's patients
//! query = "SELECT id, last_name || ', ' || first_name, birth_date, external_ref FROM patients WHERE name LIKE '%' || $1 || '%' OR CAST(id AS TEXT) = $1"
//! column = "patient_id"     # only without [patient_lookup]: where the chosen id is written
//! on_missing = "fail"       # only without [patient_lookup]: import a note nobody assigned?
//! ```
//!
//! `patient_search.query` takes one text parameter (what staff typed; `$1` may repeat) and
//! returns, in this order, the practice's patient id, a display name, the date of birth and
//! the external id (the last three may be NULL). A note assigned to a patient by a person
//! (Assign to patient…, `notes assign`) is imported with that patient's id: **an assignment
//! wins over `patient_lookup`**, which then only runs for notes nobody assigned. Without a
//! lookup, `[patient_search]`'s `on_missing = "fail"` (the default) refuses to import a note
//! nobody assigned.
//!
//! Over 500 lines with its unit tests (about 60): parsing, validation and the lookup query's
//! placeholder rewrite are one contract with the practice's TOML.

use crate::value::Val;
use crate::ImportError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A field of an Askara note (or of the import) that can be written to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Uuid,
    NoteType,
    Content,
    PatientUuid,
    PatientFirstName,
    PatientLastName,
    PatientExternalId,
    CreatedAt,
    UpdatedAt,
    ContentSha256,
    ImportedAt,
    ImportedBy,
    Workstation,
}

/// What kind of value a field holds, to check it against a column's type up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Free text: must go into a text column.
    Text,
    /// A uuid as text: text or uuid columns.
    Uuid,
    /// An instant: timestamp(tz) or text columns.
    Time,
    Int,
    Float,
    Bool,
}

impl Field {
    pub const ALL: [Field; 13] = [
        Field::Uuid,
        Field::NoteType,
        Field::Content,
        Field::PatientUuid,
        Field::PatientFirstName,
        Field::PatientLastName,
        Field::PatientExternalId,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::ContentSha256,
        Field::ImportedAt,
        Field::ImportedBy,
        Field::Workstation,
    ];

    /// The field's name in mappings, and its column name in the default schema.
    pub fn name(self) -> &'static str {
        match self {
            Field::Uuid => "uuid",
            Field::NoteType => "note_type",
            Field::Content => "content",
            Field::PatientUuid => "patient_uuid",
            Field::PatientFirstName => "patient_first_name",
            Field::PatientLastName => "patient_last_name",
            Field::PatientExternalId => "patient_external_id",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::ContentSha256 => "content_sha256",
            Field::ImportedAt => "imported_at",
            Field::ImportedBy => "imported_by",
            Field::Workstation => "workstation",
        }
    }

    pub fn from_name(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == s)
    }

    pub(crate) fn kind(self) -> Kind {
        match self {
            Field::Uuid | Field::PatientUuid => Kind::Uuid,
            Field::CreatedAt | Field::UpdatedAt | Field::ImportedAt => Kind::Time,
            _ => Kind::Text,
        }
    }
}

/// Which Askara patient field the lookup query's parameter is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKey {
    #[serde(alias = "externalId", alias = "external")]
    ExternalId,
    #[serde(alias = "patient_uuid")]
    Uuid,
}

/// What to do when the lookup finds no patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    #[default]
    Fail,
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatientLookup {
    /// The query as written in the config (`$1` or `?` for the parameter).
    pub query: String,
    pub key: LookupKey,
    pub column: Ident,
    pub on_missing: OnMissing,
}

/// A query's unquoted `?` count and the numbers of its `$n` placeholders.
fn placeholders(query: &str) -> (usize, Vec<u32>) {
    let mut q = 0;
    let mut d = Vec::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = query.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match quote {
            Some(x) if *c == x => quote = None,
            Some(_) => {}
            None if *c == '\'' || *c == '"' => quote = Some(*c),
            None if *c == '?' => q += 1,
            None if *c == '$' => {
                let n: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if let Ok(n) = n.parse() {
                    d.push(n);
                }
            }
            None => {}
        }
    }
    (q, d)
}

/// `query` with its one parameter written as `$1` (PostgreSQL) or `?1` (SQLite).
fn query_with_param(query: &str, pg: bool) -> String {
    let target = if pg { "$1" } else { "?1" };
    let mut out = String::with_capacity(query.len());
    let mut in_quote: Option<char> = None;
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match in_quote {
            Some(q) => {
                if c == q {
                    in_quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                in_quote = Some(c);
                out.push(c);
            }
            None if c == '?' => out.push_str(target),
            None if c == '$' && chars.get(i + 1) == Some(&'1') => {
                out.push_str(target);
                i += 1;
            }
            None => out.push(c),
        }
        i += 1;
    }
    out
}

impl PatientLookup {
    /// The query with its one parameter written as `$1` (PostgreSQL) or `?1` (SQLite).
    pub(crate) fn query_for(&self, pg: bool) -> String {
        query_with_param(&self.query, pg)
    }
}

/// The query "Assign to patient…" runs over the practice's own patients (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct PatientSearch {
    /// As written in the config: one parameter (`$1`, maybe repeated, or one `?`).
    pub query: String,
    /// Where an assigned patient's id is written when the mapping has no `[patient_lookup]`
    /// (with one, its `column` is used).
    pub column: Option<Ident>,
    /// Without `[patient_lookup]`: what to do with a note nobody assigned.
    pub on_missing: OnMissing,
}

impl PatientSearch {
    /// The query with its parameter written as `$1` (PostgreSQL) or `?1` (SQLite).
    pub(crate) fn query_for(&self, pg: bool) -> String {
        query_with_param(&self.query, pg)
    }
}

/// Checks a lookup or search query: one statement, one parameter (`$1`, or a single `?`).
fn check_one_param(query: &str, section: &str, what: &str) -> Result<(), ImportError> {
    let q = query.trim();
    if q.is_empty() || !q.contains("$1") && !q.contains('?') {
        return Err(ImportError::BadMapping(format!(
            "{section}.query needs one parameter, $1 or ?, for {what}"
        )));
    }
    let (qmarks, dollars) = placeholders(q);
    if q.contains(';')
        || qmarks > 1
        || (qmarks == 1 && !dollars.is_empty())
        || dollars.iter().any(|d| *d != 1)
    {
        return Err(ImportError::BadMapping(format!(
            "{section}.query must be one SELECT with one parameter ($1 or ?)"
        )));
    }
    Ok(())
}

/// A validated identifier: `[A-Za-z_][A-Za-z0-9_]*`, optionally `schema.name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ident {
    pub schema: Option<String>,
    pub name: String,
}

fn valid_part(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

impl Ident {
    /// A table name, with optional schema prefix.
    pub fn table(s: &str) -> Result<Ident, ImportError> {
        let bad = || {
            ImportError::BadMapping(format!(
                "table name `{}` is not a plain identifier (letters, digits, _; optional schema.): fix `table` in the mapping",
                shown(s)
            ))
        };
        let (schema, name) = match s.split_once('.') {
            Some((a, b)) => (Some(a), b),
            None => (None, s),
        };
        if !valid_part(name) || schema.is_some_and(|a| !valid_part(a)) {
            return Err(bad());
        }
        Ok(Ident {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        })
    }

    /// A column name (no prefix).
    pub fn column(s: &str) -> Result<Ident, ImportError> {
        if !valid_part(s) {
            return Err(ImportError::BadMapping(format!(
                "column name `{}` is not a plain identifier (letters, digits, _): fix the mapping",
                shown(s)
            )));
        }
        Ok(Ident {
            schema: None,
            name: s.to_string(),
        })
    }

    /// Quoted for SQL. Safe because the parts were validated.
    pub fn quoted(&self) -> String {
        match &self.schema {
            Some(s) => format!("\"{s}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }

    pub fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A hostile identifier is echoed only in part, escaped, so messages stay one short line.
fn shown(s: &str) -> String {
    s.chars().take(40).flat_map(char::escape_default).collect()
}

/// How notes map onto an existing table.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub table: Ident,
    /// Field → column, in field order. Always contains `Field::Uuid`.
    pub columns: Vec<(Field, Ident)>,
    /// Column → constant, written on insert and update.
    pub constants: Vec<(Ident, ConstValue)>,
    pub patient_lookup: Option<PatientLookup>,
    pub patient_search: Option<PatientSearch>,
}

/// A constant from the mapping's `[constants]`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl ConstValue {
    pub(crate) fn val(&self) -> Val {
        match self {
            ConstValue::Text(s) => Val::Text(s.clone()),
            ConstValue::Int(i) => Val::Int(*i),
            ConstValue::Float(f) => Val::Float(*f),
            ConstValue::Bool(b) => Val::Bool(*b),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    table: String,
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, toml::Value>,
    patient_lookup: Option<RawLookup>,
    patient_search: Option<RawSearch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    query: String,
    column: Option<String>,
    on_missing: Option<OnMissing>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLookup {
    query: String,
    key: LookupKey,
    column: String,
    #[serde(default)]
    on_missing: OnMissing,
}

impl Mapping {
    pub fn from_toml_str(s: &str) -> Result<Mapping, ImportError> {
        let raw: RawMapping = toml::from_str(s).map_err(|e| {
            // toml's message names the key and line; the config holds no patient data.
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("invalid TOML").to_string();
            ImportError::BadMapping(format!("mapping is not valid: {first} ({})", e.message()))
        })?;
        let table = Ident::table(&raw.table)?;
        let mut columns = Vec::new();
        let mut used: Vec<String> = Vec::new();
        let mut claim = |col: &Ident| -> Result<(), ImportError> {
            let lc = col.name.to_ascii_lowercase();
            if used.contains(&lc) {
                return Err(ImportError::BadMapping(format!(
                    "column `{}` is written twice by the mapping: map each column once",
                    col.name
                )));
            }
            used.push(lc);
            Ok(())
        };
        for (field, col) in &raw.columns {
            let f = Field::from_name(field).ok_or_else(|| {
                ImportError::BadMapping(format!(
                    "unknown field `{}` in [columns]; known fields: {}",
                    shown(field),
                    Field::ALL.map(Field::name).join(", ")
                ))
            })?;
            let c = Ident::column(col)?;
            claim(&c)?;
            columns.push((f, c));
        }
        columns.sort_by_key(|(f, _)| *f);
        if !columns.iter().any(|(f, _)| *f == Field::Uuid) {
            return Err(ImportError::BadMapping(
                "the mapping has no column for `uuid`: add uuid = \"<column with a unique index>\" under [columns]".into(),
            ));
        }
        let mut constants = Vec::new();
        for (col, v) in &raw.constants {
            let c = Ident::column(col)?;
            claim(&c)?;
            let v = match v {
                toml::Value::String(s) => ConstValue::Text(s.clone()),
                toml::Value::Integer(i) => ConstValue::Int(*i),
                toml::Value::Float(f) => ConstValue::Float(*f),
                toml::Value::Boolean(b) => ConstValue::Bool(*b),
                _ => {
                    return Err(ImportError::BadMapping(format!(
                        "constant for column `{}` must be a string, number or boolean",
                        c.name
                    )))
                }
            };
            constants.push((c, v));
        }
        let patient_lookup = match raw.patient_lookup {
            None => None,
            Some(l) => {
                let column = Ident::column(&l.column)?;
                claim(&column)?;
                let q = l.query.trim();
                check_one_param(q, "patient_lookup", "the patient key")?;
                crate::search::check_reads_only(q, "patient_lookup")?;
                Some(PatientLookup {
                    query: q.to_string(),
                    key: l.key,
                    column,
                    on_missing: l.on_missing,
                })
            }
        };
        let patient_search = match raw.patient_search {
            None => None,
            Some(r) => {
                let q = r.query.trim();
                check_one_param(q, "patient_search", "the text searched")?;
                let column = match (&patient_lookup, r.column) {
                    (Some(_), Some(_)) | (Some(_), None) if r.on_missing.is_some() => {
                        return Err(ImportError::BadMapping(
                            "patient_search.on_missing is only for a mapping without [patient_lookup]: say it once, in [patient_lookup]".into(),
                        ))
                    }
                    (Some(l), Some(c)) if !c.eq_ignore_ascii_case(&l.column.name) => {
                        return Err(ImportError::BadMapping(format!(
                            "patient_search.column `{}` differs from patient_lookup.column `{}`: an assigned patient and a looked-up one go into the same column; drop patient_search.column",
                            shown(&c),
                            l.column.name
                        )))
                    }
                    (Some(_), _) => None,
                    (None, Some(c)) => {
                        let c = Ident::column(&c)?;
                        claim(&c)?;
                        Some(c)
                    }
                    (None, None) => {
                        return Err(ImportError::BadMapping(
                            "patient_search needs `column`: the practice column the chosen patient's id is written to".into(),
                        ))
                    }
                };
                Some(PatientSearch {
                    query: q.to_string(),
                    column,
                    on_missing: r.on_missing.unwrap_or_default(),
                })
            }
        };
        Ok(Mapping {
            table,
            columns,
            constants,
            patient_lookup,
            patient_search,
        })
    }

    /// The column a practice patient id goes into (looked up or assigned), if any.
    pub fn patient_column(&self) -> Option<&Ident> {
        match (&self.patient_lookup, &self.patient_search) {
            (Some(l), _) => Some(&l.column),
            (None, Some(s)) => s.column.as_ref(),
            (None, None) => None,
        }
    }

    /// Whether a note must have a practice patient (looked up or assigned) to be imported.
    pub fn requires_patient(&self) -> bool {
        match (&self.patient_lookup, &self.patient_search) {
            (Some(l), _) => l.on_missing == OnMissing::Fail,
            (None, Some(s)) => s.on_missing == OnMissing::Fail,
            (None, None) => false,
        }
    }

    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, ImportError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ImportError::BadMapping(format!("cannot read mapping file {}: {e}", path.display()))
        })?;
        Mapping::from_toml_str(&text)
    }

    pub(crate) fn uuid_column(&self) -> &Ident {
        // from_toml_str guarantees the uuid field is mapped.
        self.columns
            .iter()
            .find(|(f, _)| *f == Field::Uuid)
            .map(|(_, c)| c)
            .unwrap_or(&self.table)
    }

    /// The default schema's table, as a mapping of every field to its own name.
    pub(crate) fn default_schema() -> Mapping {
        Mapping {
            table: Ident {
                schema: None,
                name: crate::schema::NOTES_TABLE.to_string(),
            },
            columns: Field::ALL
                .into_iter()
                .map(|f| {
                    (
                        f,
                        Ident {
                            schema: None,
                            name: f.name().to_string(),
                        },
                    )
                })
                .collect(),
            constants: Vec::new(),
            patient_lookup: None,
            patient_search: None,
        }
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    Field(Field),
    PatientId,
    Const(Val),
}

impl Mapping {
    /// The columns written, in order, with where each value comes from.
    pub(crate) fn sources(&self) -> Vec<(Ident, Source)> {
        let mut out: Vec<(Ident, Source)> = self
            .columns
            .iter()
            .map(|(f, c)| (c.clone(), Source::Field(*f)))
            .collect();
        if let Some(c) = self.patient_column() {
            out.push((c.clone(), Source::PatientId));
        }
        for (c, v) in &self.constants {
            out.push((c.clone(), Source::Const(v.val())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_validated() {
        assert!(Ident::table("notes; DROP TABLE x").is_err());
        assert!(Ident::table("a.b.c").is_err());
        assert!(Ident::table("\"x\"").is_err());
        assert!(Ident::table("1abc").is_err());
        assert_eq!(
            Ident::table("practice.notes").map(|i| i.quoted()).ok(),
            Some("\"practice\".\"notes\"".into())
        );
        assert!(Ident::column("body text").is_err());
        assert!(Ident::column("_ok9").is_ok());
    }

    #[test]
    fn mapping_needs_uuid_and_known_fields() {
        let e = Mapping::from_toml_str("table = \"t\"\n[columns]\ncontent = \"body\"\n");
        assert_eq!(e.err().map(|e| e.code()), Some("bad_mapping"));
        let e = Mapping::from_toml_str("table = \"t\"\n[columns]\nuuid = \"u\"\nbogus = \"b\"\n");
        assert!(e
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("bogus"));
        let e = Mapping::from_toml_str("table = \"t\"\n[columns]\nuuid = \"u\"\ncontent = \"u\"\n");
        assert!(e.is_err());
        let m = Mapping::from_toml_str(
            "table = \"s.t\"\n[columns]\nuuid = \"u\"\ncontent = \"body\"\n[constants]\nsource = \"askara\"\nprio = 2\n\
             [patient_lookup]\nquery = \"SELECT id FROM p WHERE ext = ?\"\nkey = \"external_id\"\ncolumn = \"pid\"\non_missing = \"null\"\n",
        );
        let m = m.unwrap();
        assert_eq!(m.columns.len(), 2);
        assert_eq!(m.constants.len(), 2);
        let l = m.patient_lookup.unwrap();
        assert_eq!(l.on_missing, OnMissing::Null);
        assert_eq!(l.query_for(true), "SELECT id FROM p WHERE ext = $1");
        assert_eq!(l.query_for(false), "SELECT id FROM p WHERE ext = ?1");
    }

    #[test]
    fn patient_search_is_checked_up_front() {
        let base = "table = \"t\"\n[columns]\nuuid = \"u\"\n";
        let parse = |extra: &str| Mapping::from_toml_str(&format!("{base}{extra}"));
        let err = |extra: &str| {
            parse(extra)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        // Alone: it names the column the chosen id goes to, and refuses by default.
        let m = parse("[patient_search]\nquery = \"SELECT id, name, born, ext FROM p WHERE name LIKE $1 OR id = $1\"\ncolumn = \"pid\"\n");
        let m = m
            .ok()
            .and_then(|m| m.patient_search.clone().map(|s| (m, s)));
        let Some((m, s)) = m else {
            panic!("a valid search was refused")
        };
        assert_eq!(m.patient_column().map(|c| c.name.as_str()), Some("pid"));
        assert!(m.requires_patient());
        assert_eq!(
            s.query_for(false),
            "SELECT id, name, born, ext FROM p WHERE name LIKE ?1 OR id = ?1"
        );
        assert!(
            err("[patient_search]\nquery = \"SELECT id FROM p WHERE n = $1\"\n")
                .contains("needs `column`")
        );
        // A lookup runs inside every import: one that writes is refused when the mapping loads.
        assert!(err(
            "[patient_lookup]\nquery = \"DELETE FROM p WHERE ext = $1 RETURNING id\"\nkey = \"external_id\"\ncolumn = \"pid\"\n"
        )
        .contains("patient_lookup.query must be a read-only SELECT"));
        assert!(
            err("[patient_search]\nquery = \"SELECT id FROM p\"\ncolumn = \"pid\"\n")
                .contains("one parameter")
        );
        assert!(err("[patient_search]\nquery = \"SELECT id FROM p WHERE a = $1 AND b = $2\"\ncolumn = \"pid\"\n").contains("one SELECT"));
        assert!(err(
            "[patient_search]\nquery = \"SELECT 1 WHERE ? = 1; DROP TABLE p\"\ncolumn = \"pid\"\n"
        )
        .contains("one SELECT"));
        assert!(err(
            "[patient_search]\nquery = \"SELECT id FROM p WHERE n = ?\"\ncolumn = \"u\"\n"
        )
        .contains("written twice"));
        // With a lookup: its column and on_missing are used; contradicting them is refused.
        let lookup = "[patient_lookup]\nquery = \"SELECT id FROM p WHERE ext = ?\"\nkey = \"external_id\"\ncolumn = \"pid\"\non_missing = \"null\"\n";
        let m = parse(&format!(
            "{lookup}[patient_search]\nquery = \"SELECT id, n, b, e FROM p WHERE n = ?\"\n"
        ));
        let m = m.ok();
        assert_eq!(
            m.as_ref()
                .and_then(|m| m.patient_column())
                .map(|c| c.name.as_str()),
            Some("pid")
        );
        assert_eq!(m.as_ref().map(|m| m.requires_patient()), Some(false));
        assert_eq!(
            m.map(|m| m
                .sources()
                .iter()
                .filter(|(_, s)| *s == Source::PatientId)
                .count()),
            Some(1)
        );
        assert!(err(&format!("{lookup}[patient_search]\nquery = \"SELECT id, n, b, e FROM p WHERE n = ?\"\ncolumn = \"other\"\n")).contains("differs"));
        assert!(err(&format!("{lookup}[patient_search]\nquery = \"SELECT id, n, b, e FROM p WHERE n = ?\"\non_missing = \"fail\"\n")).contains("say it once"));
    }

    #[test]
    fn lookup_placeholder_rewrite_skips_quotes() {
        let l = PatientLookup {
            query: "SELECT id FROM p WHERE note <> '?' AND ext = $1".into(),
            key: LookupKey::Uuid,
            column: Ident {
                schema: None,
                name: "x".into(),
            },
            on_missing: OnMissing::Fail,
        };
        assert_eq!(
            l.query_for(false),
            "SELECT id FROM p WHERE note <> '?' AND ext = ?1"
        );
    }
}
