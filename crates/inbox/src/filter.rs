//! Narrowing the list and search beyond status and patient: when a note was created, its type,
//! and who recorded it ([`NoteFilter`]), and the dates people type for it ([`DateBound`]).
//!
//! A date range becomes a range of the time key `notes.id` (see migrations/0001_init.sql), so
//! it costs a primary-key (or FTS5 rowid) range, never a scan comparing text timestamps.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// Filters shared by [`crate::ListQuery`] and [`crate::SearchQuery`]. Every field that is set
/// must hold; the default filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteFilter {
    /// Created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Created strictly before this instant (an "until" day or instant, made exclusive by
    /// [`DateBound::until`]).
    pub before: Option<DateTime<Utc>>,
    /// Askara's `type`, exactly as stored.
    pub note_type: Option<String>,
    /// The Askara user who recorded the note (`author_user_id`), exactly.
    pub author: Option<String>,
    /// Only notes in "Needs patient" (see [`crate::Inbox::needs_patient`]).
    pub needs_patient: bool,
}

impl NoteFilter {
    /// Whether it filters nothing.
    pub fn is_empty(&self) -> bool {
        self == &NoteFilter::default()
    }
}

/// The values the type and author filters can take: those of the notes in the inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NoteFacets {
    pub note_types: Vec<String>,
    pub authors: Vec<String>,
}

/// A `--since` / `--until` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("{flag} `{value}` is not a date: use YYYY-MM-DD (a local day) or RFC 3339 (2026-12-01T08:30:00Z)")]
    Unreadable { flag: &'static str, value: String },
    #[error("{flag} `{value}` is outside the supported years")]
    OutOfRange { flag: &'static str, value: String },
    #[error("the date range is empty: --since {since} is after --until {until}")]
    Empty { since: String, until: String },
}

/// `(since, before)`: created at or after `since`, strictly before `before`; `None` is open.
pub type DateRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Reading the dates people give: `YYYY-MM-DD` is a whole day in the local timezone (`until`
/// includes it), anything else must be RFC 3339 (`until` includes that instant).
pub struct DateBound;

impl DateBound {
    /// The first instant of `since`, in `tz` for a plain date.
    pub fn since<Tz: TimeZone>(value: &str, tz: &Tz) -> Result<DateTime<Utc>, DateError> {
        let value = value.trim();
        match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(day) => day_start(day, tz).ok_or_else(|| out_of_range("--since", value)),
            Err(_) => rfc3339("--since", value),
        }
    }

    /// The exclusive end of `until`: the start of the next day for a plain date (in `tz`), the
    /// next nanosecond for an instant.
    pub fn until<Tz: TimeZone>(value: &str, tz: &Tz) -> Result<DateTime<Utc>, DateError> {
        let value = value.trim();
        let end = match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(day) => day.succ_opt().and_then(|next| day_start(next, tz)),
            Err(_) => rfc3339("--until", value)?.checked_add_signed(Duration::nanoseconds(1)),
        };
        end.ok_or_else(|| out_of_range("--until", value))
    }

    /// Both bounds at once, refusing a range that ends before it starts.
    pub fn range<Tz: TimeZone>(
        since: Option<&str>,
        until: Option<&str>,
        tz: &Tz,
    ) -> Result<DateRange, DateError> {
        let from = since.map(|s| DateBound::since(s, tz)).transpose()?;
        let before = until.map(|u| DateBound::until(u, tz)).transpose()?;
        if let (Some(f), Some(b), Some(s), Some(u)) = (from, before, since, until) {
            if f >= b {
                return Err(DateError::Empty {
                    since: s.trim().to_string(),
                    until: u.trim().to_string(),
                });
            }
        }
        Ok((from, before))
    }
}

/// Midnight of `day` in `tz`; where a DST change skips midnight, the first hour that exists.
fn day_start<Tz: TimeZone>(day: NaiveDate, tz: &Tz) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    (0..=2)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

fn rfc3339(flag: &'static str, value: &str) -> Result<DateTime<Utc>, DateError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DateError::Unreadable {
            flag,
            value: value.to_string(),
        })
}

fn out_of_range(flag: &'static str, value: &str) -> DateError {
    DateError::OutOfRange {
        flag,
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::FixedOffset;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_plain_date_is_a_whole_local_day() {
        let oslo = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            DateBound::since("2026-12-01", &oslo).unwrap(),
            at("2026-11-30T23:00:00Z")
        );
        // until is inclusive: the day ends where the next one starts.
        assert_eq!(
            DateBound::until("2026-12-01", &oslo).unwrap(),
            at("2026-12-01T23:00:00Z")
        );
        let (s, b) = DateBound::range(Some("2026-12-01"), Some("2026-12-01"), &Utc).unwrap();
        assert_eq!(b.unwrap() - s.unwrap(), Duration::days(1));
    }

    #[test]
    fn an_instant_is_rfc3339_and_until_includes_it() {
        assert_eq!(
            DateBound::since("2026-12-01T08:30:00+02:00", &Utc).unwrap(),
            at("2026-12-01T06:30:00Z")
        );
        let end = DateBound::until("2026-12-01T08:30:00Z", &Utc).unwrap();
        assert!(end > at("2026-12-01T08:30:00Z"));
        assert!(end < at("2026-12-01T08:30:00.000001Z"));
    }

    #[test]
    fn bad_dates_and_empty_ranges_are_refused_in_one_line() {
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-12-01 08:00",
            "01/12/2026",
            "",
        ] {
            let e = DateBound::since(bad, &Utc).unwrap_err();
            assert!(matches!(e, DateError::Unreadable { .. }), "{bad}: {e}");
            assert!(!e.to_string().contains('\n'));
            assert!(e.to_string().contains("--since"), "{e}");
        }
        let e = DateBound::until("soon", &Utc).unwrap_err();
        assert!(e.to_string().starts_with("--until `soon`"), "{e}");
        let e = DateBound::range(Some("2026-12-02"), Some("2026-12-01"), &Utc).unwrap_err();
        assert!(matches!(e, DateError::Empty { .. }), "{e}");
        // One day is not empty.
        assert!(DateBound::range(Some("2026-12-01"), Some("2026-12-01"), &Utc).is_ok());
    }

    #[test]
    fn the_default_filters_nothing() {
        assert!(NoteFilter::default().is_empty());
        let f = NoteFilter {
            note_type: Some("referral_letter".into()),
            ..Default::default()
        };
        assert!(!f.is_empty());
    }
}
