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
//! ```
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

impl PatientLookup {
    /// Unquoted `?` count and the numbers of `$n` placeholders.
    fn placeholders(&self) -> (usize, Vec<u32>) {
        let mut q = 0;
        let mut d = Vec::new();
        let mut quote: Option<char> = None;
        let chars: Vec<char> = self.query.chars().collect();
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

    /// The query with its one parameter written as `$1` (PostgreSQL) or `?1` (SQLite).
    pub(crate) fn query_for(&self, pg: bool) -> String {
        let target = if pg { "$1" } else { "?1" };
        let mut out = String::with_capacity(self.query.len());
        let mut in_quote: Option<char> = None;
        let chars: Vec<char> = self.query.chars().collect();
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
                if q.is_empty() || !q.contains("$1") && !q.contains('?') {
                    return Err(ImportError::BadMapping(
                        "patient_lookup.query needs one parameter, $1 or ?, for the patient key"
                            .into(),
                    ));
                }
                let plain = PatientLookup {
                    query: q.to_string(),
                    key: l.key,
                    column: column.clone(),
                    on_missing: l.on_missing,
                };
                let (qmarks, dollars) = plain.placeholders();
                if q.contains(';')
                    || qmarks > 1
                    || (qmarks == 1 && !dollars.is_empty())
                    || dollars.iter().any(|d| *d != 1)
                {
                    return Err(ImportError::BadMapping(
                        "patient_lookup.query must be one SELECT with one parameter ($1 or ?)"
                            .into(),
                    ));
                }
                Some(PatientLookup {
                    query: q.to_string(),
                    key: l.key,
                    column,
                    on_missing: l.on_missing,
                })
            }
        };
        Ok(Mapping {
            table,
            columns,
            constants,
            patient_lookup,
        })
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
        if let Some(l) = &self.patient_lookup {
            out.push((l.column.clone(), Source::PatientId));
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
