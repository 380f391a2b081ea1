//! Typed Askara resources. Askara's shapes are only partly documented, so parsing is lenient:
//! unknown fields survive in `raw`, `patient` may be null, absent or partial, and timestamps are
//! compared as instants whatever offset they were written with.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("note is not a JSON object")]
    NotAnObject,
    #[error("note has no `uuid`")]
    MissingUuid,
    #[error("note {uuid} has no `createdAt`")]
    MissingCreatedAt { uuid: String },
    #[error("note {uuid}: `{field}` is not a timestamp")]
    BadTimestamp { uuid: String, field: &'static str },
}

/// A patient as embedded in a note. Every field may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub uuid: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The practice's own patient id, when Askara knows it.
    pub external_id: Option<String>,
    /// `YYYY-MM-DD` as Askara gives it (the date part of a date-time); `None` when not given.
    pub date_of_birth: Option<String>,
}

impl Patient {
    /// A patient object (embedded in a note, or `GET /patients/{uuid}`); `None` when `v` is
    /// not an object.
    pub fn from_json(v: &Value) -> Option<Patient> {
        let p = v.as_object()?;
        Some(Patient {
            uuid: str_field(p, "uuid").or_else(|| {
                str_field(p, "@id").and_then(|iri| {
                    iri.rsplit('/')
                        .next()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                })
            }),
            first_name: str_field(p, "firstName"),
            last_name: str_field(p, "lastName"),
            external_id: str_field(p, "externalId").filter(|s| !s.trim().is_empty()),
            date_of_birth: str_field(p, "dateOfBirth").and_then(|d| birth_date(&d)),
        })
    }

    /// "Last, First" for lists; whatever parts exist.
    pub fn display_name(&self) -> String {
        match (self.last_name.as_deref(), self.first_name.as_deref()) {
            (Some(l), Some(f)) => format!("{l}, {f}"),
            (Some(l), None) => l.to_string(),
            (None, Some(f)) => f.to_string(),
            (None, None) => String::new(),
        }
    }
}

/// A clinical note. `raw` is the JSON exactly as Askara sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub uuid: String,
    pub note_type: Option<String>,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub patient: Option<Patient>,
    pub raw: Value,
}

impl Note {
    pub fn from_json(raw: Value) -> Result<Note, ModelError> {
        let obj = raw.as_object().ok_or(ModelError::NotAnObject)?;
        let uuid = str_field(obj, "uuid")
            .or_else(|| str_field(obj, "id"))
            .ok_or(ModelError::MissingUuid)?;
        let created_raw = str_field(obj, "createdAt")
            .ok_or_else(|| ModelError::MissingCreatedAt { uuid: uuid.clone() })?;
        let created_at = parse_instant(&created_raw).ok_or_else(|| ModelError::BadTimestamp {
            uuid: uuid.clone(),
            field: "createdAt",
        })?;
        let updated_at = match str_field(obj, "updatedAt") {
            Some(s) => parse_instant(&s).ok_or_else(|| ModelError::BadTimestamp {
                uuid: uuid.clone(),
                field: "updatedAt",
            })?,
            None => created_at,
        };
        let patient = obj.get("patient").and_then(|p| match p {
            Value::Object(_) => Patient::from_json(p),
            // An IRI such as "/patients/{uuid}": keep the uuid at least.
            Value::String(iri) => Some(Patient {
                uuid: iri
                    .rsplit('/')
                    .next()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                ..Patient::default()
            }),
            _ => None,
        });
        Ok(Note {
            note_type: str_field(obj, "type"),
            content: str_field(obj, "content").unwrap_or_default(),
            uuid,
            created_at,
            updated_at,
            patient,
            raw,
        })
    }

    /// The note's `createdAt` exactly as Askara wrote it.
    pub fn created_at_raw(&self) -> &str {
        self.raw
            .get("createdAt")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn updated_at_raw(&self) -> &str {
        self.raw
            .get("updatedAt")
            .and_then(Value::as_str)
            .unwrap_or_else(|| self.created_at_raw())
    }

    pub fn patient_uuid(&self) -> Option<&str> {
        self.patient.as_ref().and_then(|p| p.uuid.as_deref())
    }
}

fn str_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A date of birth as shown: the `YYYY-MM-DD` at the start of what Askara wrote (API Platform
/// writes a date as a date-time at midnight), else the text as given; `None` when blank.
/// Never a date made up from something else.
pub fn birth_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let ymd = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    Some(if ymd {
        s[..10].to_string()
    } else {
        s.to_string()
    })
}

/// Parses the timestamp forms seen from API Platform: RFC 3339 with `Z` or any offset,
/// `+0000` without a colon, and a bare local time (taken as UTC).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_are_compared_as_instants() {
        let a = parse_instant("2026-02-24T10:30:00+00:00");
        let b = parse_instant("2026-02-24T10:30:00Z");
        let c = parse_instant("2026-02-24T12:30:00+0200");
        let d = parse_instant("2026-02-24T11:30:00.000+01:00");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn patient_may_be_null_absent_partial_or_an_iri() {
        let base = json!({"uuid": "n1", "createdAt": "2026-02-24T10:30:00Z", "content": "x"});
        let mut null = base.clone();
        null["patient"] = Value::Null;
        assert_eq!(Note::from_json(null).map(|n| n.patient), Ok(None));
        assert_eq!(Note::from_json(base.clone()).map(|n| n.patient), Ok(None));
        let mut partial = base.clone();
        partial["patient"] = json!({"lastName": "Ødegård"});
        let p = Note::from_json(partial).ok().and_then(|n| n.patient);
        assert_eq!(p.map(|p| p.display_name()), Some("Ødegård".to_string()));
        let mut iri = base;
        iri["patient"] = json!("/patients/p-42");
        let n = Note::from_json(iri).ok();
        assert_eq!(n.as_ref().and_then(|n| n.patient_uuid()), Some("p-42"));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn patient_identifiers_are_read_as_given() {
        let p = Patient::from_json(&json!({"uuid": "p1", "firstName": "Ørjan",
            "lastName": "Haugen", "externalId": 10023, "dateOfBirth": "1984-03-02T00:00:00+00:00"}))
        .unwrap();
        assert_eq!(p.external_id.as_deref(), Some("10023"));
        assert_eq!(p.date_of_birth.as_deref(), Some("1984-03-02"));
        let none = Patient::from_json(&json!({"@id": "/patients/p2", "dateOfBirth": " "})).unwrap();
        assert_eq!(none.uuid.as_deref(), Some("p2"));
        assert_eq!(none.date_of_birth, None);
        assert_eq!(birth_date("2 March 1984").as_deref(), Some("2 March 1984"));
        let s = serde_json::to_value(&p).unwrap();
        assert_eq!(s["dateOfBirth"], "1984-03-02");
        assert_eq!(s["externalId"], "10023");
    }

    #[test]
    fn unknown_fields_survive_and_updated_defaults_to_created() {
        let raw = json!({"uuid": "n1", "createdAt": "2026-02-24T10:30:00+01:00",
                         "audio": {"uuid": "a1"}, "futureField": [1, 2]});
        let n = Note::from_json(raw.clone()).ok();
        assert_eq!(n.as_ref().map(|n| &n.raw), Some(&raw));
        assert_eq!(
            n.as_ref().map(|n| n.updated_at),
            n.as_ref().map(|n| n.created_at)
        );
        assert_eq!(n.as_ref().map(|n| n.content.as_str()), Some(""));
    }

    #[test]
    fn missing_uuid_or_created_is_an_error_not_a_panic() {
        assert_eq!(Note::from_json(json!([])), Err(ModelError::NotAnObject));
        assert_eq!(
            Note::from_json(json!({"createdAt": "2026-01-01T00:00:00Z"})),
            Err(ModelError::MissingUuid)
        );
        assert!(matches!(
            Note::from_json(json!({"uuid": "x", "createdAt": "soon"})),
            Err(ModelError::BadTimestamp { .. })
        ));
    }
}
