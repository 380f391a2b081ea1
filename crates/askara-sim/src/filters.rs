//! The query string of `GET /notes`, read with API Platform's semantics: date filters
//! `after`/`before` are inclusive, `strictly_*` exclusive, `gt|gte|lt|lte` as named; unknown
//! parameters and unparsable dates are ignored rather than rejected, as API Platform does.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::config::SimConfig;
use crate::store::{id_from_ref, StoredNote};
use crate::time::parse_query_instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateField {
    Created,
    Updated,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum DateBound {
    AtLeast(DateTime<Utc>),
    After(DateTime<Utc>),
    AtMost(DateTime<Utc>),
    Before(DateTime<Utc>),
}

impl DateBound {
    fn admits(self, t: DateTime<Utc>) -> bool {
        match self {
            DateBound::AtLeast(b) => t >= b,
            DateBound::After(b) => t > b,
            DateBound::AtMost(b) => t <= b,
            DateBound::Before(b) => t < b,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Asc,
    Desc,
}

#[derive(Debug)]
pub(crate) struct NoteQuery {
    pub patient: Option<String>,
    pub audio: Option<String>,
    pub dates: Vec<(DateField, DateBound)>,
    pub order: Vec<(DateField, Direction)>,
    pub page: usize,
    pub items_per_page: usize,
}

/// Splits `createdAt[after]` into `("createdAt", "after")`.
fn bracketed(key: &str) -> Option<(&str, &str)> {
    let (name, rest) = key.split_once('[')?;
    Some((name, rest.strip_suffix(']')?))
}

fn date_field(name: &str) -> Option<DateField> {
    match name {
        "createdAt" => Some(DateField::Created),
        "updatedAt" => Some(DateField::Updated),
        _ => None,
    }
}

fn bounds(op: &str, value: &str) -> Vec<DateBound> {
    if op == "between" {
        let Some((lo, hi)) = value.split_once("..") else {
            return Vec::new();
        };
        return match (parse_query_instant(lo), parse_query_instant(hi)) {
            (Some(lo), Some(hi)) => vec![DateBound::AtLeast(lo), DateBound::AtMost(hi)],
            _ => Vec::new(),
        };
    }
    let Some(t) = parse_query_instant(value) else {
        tracing::debug!(op, "ignoring unparsable date filter");
        return Vec::new();
    };
    match op {
        "after" | "gte" => vec![DateBound::AtLeast(t)],
        "strictly_after" | "gt" => vec![DateBound::After(t)],
        "before" | "lte" => vec![DateBound::AtMost(t)],
        "strictly_before" | "lt" => vec![DateBound::Before(t)],
        _ => Vec::new(),
    }
}

fn parse_count(name: &str, value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("{name} must be an integer"))
}

impl NoteQuery {
    pub(crate) fn parse(pairs: &[(String, String)], cfg: &SimConfig) -> Result<NoteQuery, String> {
        let mut q = NoteQuery {
            patient: None,
            audio: None,
            dates: Vec::new(),
            order: Vec::new(),
            page: 1,
            items_per_page: 0,
        };
        let mut asked = None;
        for (key, value) in pairs {
            match key.as_str() {
                "patient" | "patient.uuid" => q.patient = Some(id_from_ref(value).to_string()),
                "audio" | "audio.uuid" => q.audio = Some(id_from_ref(value).to_string()),
                "page" => {
                    let page = parse_count("page", value)?;
                    if page < 1 {
                        return Err("Page should not be less than 1".into());
                    }
                    let page = usize::try_from(page).map_err(|_| "page is too large")?;
                    if cfg.honour_page {
                        q.page = page;
                    }
                }
                "itemsPerPage" => {
                    let n = parse_count("itemsPerPage", value)?;
                    if n < 0 {
                        return Err("Items per page parameter should not be less than 0".into());
                    }
                    asked = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                _ => {
                    let Some((name, op)) = bracketed(key) else {
                        continue;
                    };
                    if name == "order" {
                        let dir = match value.to_ascii_lowercase().as_str() {
                            "asc" => Direction::Asc,
                            "desc" => Direction::Desc,
                            _ => continue,
                        };
                        if let Some(field) = date_field(op) {
                            q.order.retain(|(f, _)| *f != field);
                            q.order.push((field, dir));
                        }
                        continue;
                    }
                    let Some(field) = date_field(name) else {
                        continue;
                    };
                    let honoured = match field {
                        DateField::Created => cfg.honour_created_filter,
                        DateField::Updated => cfg.honour_updated_filter,
                    };
                    if honoured {
                        q.dates
                            .extend(bounds(op, value).into_iter().map(|b| (field, b)));
                    }
                }
            }
        }
        q.items_per_page = cfg.page_size_for(asked);
        Ok(q)
    }

    pub(crate) fn admits(&self, note: &StoredNote) -> bool {
        if let Some(p) = &self.patient {
            if note.patient_uuid.as_deref() != Some(p.as_str()) {
                return false;
            }
        }
        if let Some(a) = &self.audio {
            if note.audio_uuid != *a {
                return false;
            }
        }
        self.dates.iter().all(|(field, bound)| {
            bound.admits(match field {
                DateField::Created => note.created,
                DateField::Updated => note.updated,
            })
        })
    }

    /// Total order: the requested keys, then insertion order in the direction of the first
    /// key, so `desc` is the exact mirror of `asc` (`ORDER BY createdAt DESC, id DESC`).
    pub(crate) fn compare(&self, a: &StoredNote, b: &StoredNote) -> Ordering {
        let mut tie = Direction::Asc;
        for (i, (field, dir)) in self.order.iter().enumerate() {
            if i == 0 {
                tie = *dir;
            }
            let ord = match field {
                DateField::Created => a.created.cmp(&b.created),
                DateField::Updated => a.updated.cmp(&b.updated),
            };
            let ord = if *dir == Direction::Desc {
                ord.reverse()
            } else {
                ord
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let ord = a.seq.cmp(&b.seq);
        if tie == Direction::Desc {
            ord.reverse()
        } else {
            ord
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn reads_api_platform_parameters() {
        let cfg = SimConfig::default();
        let q = NoteQuery::parse(
            &pairs("patient=/patients/p1&audio=a1&createdAt[after]=2026-02-17&order[createdAt]=desc&page=2&itemsPerPage=500&unknown=1"),
            &cfg,
        )
        .unwrap();
        assert_eq!(q.patient.as_deref(), Some("p1"));
        assert_eq!(q.audio.as_deref(), Some("a1"));
        assert_eq!(q.dates.len(), 1);
        assert_eq!(q.order, vec![(DateField::Created, Direction::Desc)]);
        assert_eq!((q.page, q.items_per_page), (2, 100));
        assert!(NoteQuery::parse(&pairs("page=0"), &cfg).is_err());
        assert!(NoteQuery::parse(&pairs("itemsPerPage=-3"), &cfg).is_err());
    }

    #[test]
    fn ignored_when_the_server_does_not_honour_them() {
        let cfg = SimConfig {
            honour_created_filter: false,
            ..SimConfig::default()
        };
        let q = NoteQuery::parse(
            &pairs("createdAt[after]=2026-02-17&updatedAt[after]=2026-02-17"),
            &cfg,
        )
        .unwrap();
        assert_eq!(q.dates.len(), 1);
        assert_eq!(q.dates[0].0, DateField::Updated);
    }
}
