//! Timestamps as Askara writes them and as clients send them in filters.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

/// Parses an RFC 3339 timestamp with any offset, `+0000`-style offsets, a naive timestamp
/// (taken as UTC, the server's zone) or a bare date (its midnight UTC, as PHP's DateTime does).
pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Like [`parse_instant`], but repairs an offset whose `+` arrived as a space because the
/// client did not percent-encode it in the query string.
pub(crate) fn parse_query_instant(s: &str) -> Option<DateTime<Utc>> {
    parse_instant(s).or_else(|| {
        let (head, tail) = s.trim().rsplit_once(' ')?;
        let offset = tail.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if offset && head.contains('T') {
            parse_instant(&format!("{head}+{tail}"))
        } else {
            None
        }
    })
}

/// A note as served: its timestamps rewritten with the deployment's UTC offset (the same
/// instants, written as `+02:00` rather than `+00:00`).
pub(crate) fn present(mut json: Value, offset_minutes: i32) -> Value {
    if offset_minutes == 0 {
        return json;
    }
    let Some(offset) = FixedOffset::east_opt(offset_minutes * 60) else {
        return json;
    };
    let rewrite = |v: &mut Value| {
        if let Some(t) = v.as_str().and_then(parse_instant) {
            *v = Value::String(
                t.with_timezone(&offset)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, false),
            );
        }
    };
    if let Some(obj) = json.as_object_mut() {
        for key in ["createdAt", "updatedAt"] {
            if let Some(v) = obj.get_mut(key) {
                rewrite(v);
            }
        }
        if let Some(v) = obj.get_mut("audio").and_then(|a| a.get_mut("createdAt")) {
            rewrite(v);
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape_as_the_same_instant() {
        let want = parse_instant("2026-02-24T10:30:00Z").unwrap();
        assert_eq!(parse_instant("2026-02-24T10:30:00+00:00"), Some(want));
        assert_eq!(parse_instant("2026-02-24T12:30:00+02:00"), Some(want));
        assert_eq!(parse_instant("2026-02-24T10:30:00+0000"), Some(want));
        assert_eq!(parse_instant("2026-02-24T10:30:00"), Some(want));
        assert_eq!(parse_query_instant("2026-02-24T12:30:00 02:00"), Some(want));
        assert_eq!(
            parse_instant("2026-02-24"),
            parse_instant("2026-02-24T00:00:00Z")
        );
        assert_eq!(parse_instant("yesterday"), None);
    }
}
