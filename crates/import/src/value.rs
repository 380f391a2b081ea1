//! One value of a row, bound (never spliced) into SQL for either database.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Val {
    pub(crate) fn opt_text(s: Option<&str>) -> Val {
        s.map_or(Val::Null, |s| Val::Text(s.to_string()))
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Text(s) => serde_json::Value::String(s.clone()),
            Val::Time(t) => serde_json::Value::String(fmt_time(t)),
            Val::Int(i) => serde_json::Value::from(*i),
            Val::Float(f) => serde_json::Value::from(*f),
            Val::Bool(b) => serde_json::Value::Bool(*b),
        }
    }

    /// Whether this value can be sent to a PostgreSQL parameter of type `ty`.
    pub(crate) fn fits_pg(&self, ty: &Type) -> bool {
        let mut buf = bytes_buf();
        self.to_sql(ty, &mut buf).is_ok()
    }
}

fn bytes_buf() -> tokio_postgres::types::private::BytesMut {
    tokio_postgres::types::private::BytesMut::new()
}

/// Timestamps as text: RFC 3339, UTC, microseconds, sortable.
pub(crate) fn fmt_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    askara::model::parse_instant(s)
}

/// Now, truncated to microseconds so what we return equals what the database keeps.
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    Utc.timestamp_micros(micros).single().unwrap_or(now)
}

pub(crate) fn is_pg_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

const PG_EPOCH_MICROS: i64 = 946_684_800_000_000; // 2000-01-01T00:00:00Z in Unix micros

type BoxErr = Box<dyn std::error::Error + Sync + Send>;

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn mismatch(what: &str, ty: &Type) -> BoxErr {
    format!(
        "a {what} value cannot go into a column of type {}",
        ty.name()
    )
    .into()
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, BoxErr> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Text(s) => {
                if is_pg_text(ty) {
                    s.as_str().to_sql(ty, out)
                } else if *ty == Type::UUID {
                    let b = parse_uuid(s).ok_or_else(|| mismatch("non-uuid text", ty))?;
                    out.extend_from_slice(&b);
                    Ok(IsNull::No)
                } else if *ty == Type::INT8 || *ty == Type::INT4 || *ty == Type::INT2 {
                    let i: i64 = s
                        .trim()
                        .parse()
                        .map_err(|_| mismatch("non-numeric text", ty))?;
                    Val::Int(i).to_sql(ty, out)
                } else {
                    Err(mismatch("text", ty))
                }
            }
            Val::Time(t) => {
                if *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP {
                    let v = t.timestamp_micros() - PG_EPOCH_MICROS;
                    out.extend_from_slice(&v.to_be_bytes());
                    Ok(IsNull::No)
                } else if is_pg_text(ty) {
                    fmt_time(t).as_str().to_sql(ty, out)
                } else {
                    Err(mismatch("timestamp", ty))
                }
            }
            Val::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                _ if is_pg_text(ty) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(mismatch("integer", ty)),
            },
            Val::Float(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ if is_pg_text(ty) => f.to_string().as_str().to_sql(ty, out),
                _ => Err(mismatch("number", ty)),
            },
            Val::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                _ if is_pg_text(ty) => b.to_string().as_str().to_sql(ty, out),
                _ => Err(mismatch("boolean", ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// What a patient lookup query returns: an integer or text id.
impl<'a> FromSql<'a> for Val {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        Ok(match *ty {
            Type::INT2 => Val::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Val::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::UUID if raw.len() == 16 => {
                let h: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                Val::Text(format!(
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                ))
            }
            Type::TIMESTAMPTZ | Type::TIMESTAMP => Val::Time(PgTime::from_sql(ty, raw)?.0),
            _ if is_pg_text(ty) => Val::Text(<&str>::from_sql(ty, raw)?.to_string()),
            _ => return Err(mismatch("lookup result", ty)),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxErr> {
        Ok(Val::Null)
    }

    fn accepts(ty: &Type) -> bool {
        pg_readable(ty)
    }
}

pub(crate) fn pg_readable(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::UUID | Type::TIMESTAMPTZ | Type::TIMESTAMP
    ) || is_pg_text(ty)
}

/// A PostgreSQL `timestamptz` read without pulling in the chrono feature of the driver.
pub(crate) struct PgTime(pub DateTime<Utc>);

impl<'a> FromSql<'a> for PgTime {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        let micros = i64::from_sql(&Type::INT8, raw)?;
        let _ = ty;
        Utc.timestamp_micros(micros + PG_EPOCH_MICROS)
            .single()
            .map(PgTime)
            .ok_or_else(|| "timestamp out of range".into())
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(Value::Null),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Time(t) => ToSqlOutput::Owned(Value::Text(fmt_time(t))),
            Val::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Val::Float(f) => ToSqlOutput::Owned(Value::Real(*f)),
            Val::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
        })
    }
}

pub(crate) fn sqlite_val(v: rusqlite::types::ValueRef<'_>) -> Val {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Float(f),
        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_round_trips_through_binary() {
        let v = Val::Text("123e4567-e89b-12d3-a456-426614174000".into());
        let mut buf = bytes_buf();
        assert!(matches!(v.to_sql(&Type::UUID, &mut buf), Ok(IsNull::No)));
        assert_eq!(Val::from_sql(&Type::UUID, &buf).ok(), Some(v));
        assert!(!Val::Text("not a uuid".into()).fits_pg(&Type::UUID));
        assert!(!Val::Text("long content".into()).fits_pg(&Type::INT4));
        assert!(Val::Int(5).fits_pg(&Type::TEXT));
    }

    #[test]
    fn timestamps_use_the_postgres_epoch() {
        let t = Utc.timestamp_micros(PG_EPOCH_MICROS + 1).single().unwrap();
        let mut buf = bytes_buf();
        assert!(Val::Time(t).to_sql(&Type::TIMESTAMPTZ, &mut buf).is_ok());
        assert_eq!(&buf[..], &1i64.to_be_bytes());
        assert_eq!(
            PgTime::from_sql(&Type::TIMESTAMPTZ, &buf).map(|p| p.0).ok(),
            Some(t)
        );
    }
}
