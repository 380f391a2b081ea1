//! Where a note came from, as far as anyone said so: who recorded it, the recording, and how it
//! reached this inbox. Read from what the inbox keeps (the note JSON exactly as Askara sent it,
//! the delivery's user id, the source and whether Askara's API confirmed it); nothing is
//! guessed, so a value nobody gave is `None`.
//!
//! Askara's guide says `GET /notes/{uuid}` carries the note's audio and user, in a shape it does
//! not document (see `askara-api.md`): an object or an IRI (`"/users/{uuid}"`) is accepted, and
//! the fields read are the ones Askara's other resources use (`uuid`, `firstName`, `lastName`,
//! `email`, `createdAt`; an audio's `duration` in seconds, its `recordedAt` when present).

use chrono::{DateTime, Utc};
use inbox::NoteRecord;
use serde::Serialize;
use serde_json::{Map, Value};

/// How the note reached this inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Polled from Askara's API.
    Poll,
    /// Delivered by an Askara webhook.
    Webhook,
}

/// The Askara user who recorded the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    pub uuid: Option<String>,
    /// "First Last", from what Askara gave.
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The consultation's recording.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub uuid: Option<String>,
    /// The audio's `recordedAt`, else its `createdAt`.
    pub recorded_at: Option<DateTime<Utc>>,
    pub duration_secs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub author: Option<Author>,
    pub recording: Option<Recording>,
    /// When this inbox first stored the note.
    pub arrived_at: DateTime<Utc>,
    pub arrival: Arrival,
    /// `true`: the content is what Askara's API returned; `false`: a webhook payload as
    /// delivered, never confirmed.
    pub verified: bool,
}

impl Provenance {
    pub fn of(n: &NoteRecord) -> Provenance {
        let obj = n.raw.as_object();
        let author = obj
            .and_then(|o| o.get("user").or_else(|| o.get("author")))
            .and_then(author_of)
            .map(|mut a| {
                if a.uuid.is_none() {
                    a.uuid = n.author_user_id.clone();
                }
                a
            })
            .or_else(|| {
                n.author_user_id.as_ref().map(|id| Author {
                    uuid: Some(id.clone()),
                    name: None,
                    email: None,
                })
            });
        Provenance {
            author,
            recording: obj.and_then(|o| o.get("audio")).and_then(recording_of),
            arrived_at: n.first_seen_at,
            arrival: match n.source {
                inbox::Source::Poll => Arrival::Poll,
                inbox::Source::Webhook => Arrival::Webhook,
            },
            verified: n.verified,
        }
    }
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The last segment of an IRI (`/users/u-1` → `u-1`).
fn iri_id(iri: &str) -> Option<String> {
    iri.trim()
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn author_of(v: &Value) -> Option<Author> {
    let a = match v {
        Value::String(iri) => Author {
            uuid: iri_id(iri),
            name: None,
            email: None,
        },
        Value::Object(o) => {
            let name = [text(o, "firstName"), text(o, "lastName")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Author {
                uuid: text(o, "uuid").or_else(|| text(o, "@id").and_then(|i| iri_id(&i))),
                name: Some(name).filter(|n| !n.is_empty()),
                email: text(o, "email"),
            }
        }
        _ => return None,
    };
    (a.uuid.is_some() || a.name.is_some() || a.email.is_some()).then_some(a)
}

fn recording_of(v: &Value) -> Option<Recording> {
    let r = match v {
        Value::String(iri) => Recording {
            uuid: iri_id(iri),
            recorded_at: None,
            duration_secs: None,
        },
        Value::Object(o) => {
            let when = |k: &str| text(o, k).and_then(|t| askara::model::parse_instant(&t));
            let duration_secs = match o.get("duration") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|d| d.is_finite() && *d >= 0.0);
            Recording {
                uuid: text(o, "uuid").or_else(|| text(o, "@id").and_then(|i| iri_id(&i))),
                recorded_at: when("recordedAt").or_else(|| when("createdAt")),
                duration_secs,
            }
        }
        _ => return None,
    };
    (r.uuid.is_some() || r.recorded_at.is_some() || r.duration_secs.is_some()).then_some(r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// The note as the inbox stores and returns it (a webhook payload, not confirmed), so the
    /// raw JSON read here is what survived storage.
    async fn record(raw: Value, author_user_id: Option<&str>) -> NoteRecord {
        let dir = tempfile::tempdir().unwrap();
        let inbox = inbox::Inbox::open(
            dir.path().join("inbox.sqlite3"),
            &inbox::InboxKey::generate(),
        )
        .unwrap();
        let note = askara::Note::from_json(raw).unwrap();
        let uuid = note.uuid.clone();
        let mut origin = inbox::Origin::unverified_webhook();
        if let Some(a) = author_user_id {
            origin.authors.insert(uuid.clone(), a.to_string());
        }
        inbox
            .ingest_from(vec![note], origin, Vec::new())
            .await
            .unwrap();
        inbox.get(&uuid).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn the_user_and_audio_askara_gave_are_read() {
        let n = record(
            json!({"uuid": "n1", "createdAt": "2026-02-24T10:30:00+00:00",
                   "user": {"uuid": "u-7", "firstName": "Amélie", "lastName": "Rousseau",
                            "email": "a.rousseau@example.test"},
                   "audio": {"uuid": "a-1", "duration": 95, "createdAt": "2026-02-24T11:28:20+01:00"}}),
            None,
        )
        .await;
        let p = Provenance::of(&n);
        assert_eq!(
            p.author,
            Some(Author {
                uuid: Some("u-7".into()),
                name: Some("Amélie Rousseau".into()),
                email: Some("a.rousseau@example.test".into()),
            })
        );
        let r = p.recording.unwrap();
        assert_eq!(r.uuid.as_deref(), Some("a-1"));
        assert_eq!(r.duration_secs, Some(95.0));
        assert_eq!(
            r.recorded_at.map(|t| t.to_rfc3339()),
            Some("2026-02-24T10:28:20+00:00".into())
        );
        assert_eq!((p.arrival, p.verified), (Arrival::Webhook, false));
        assert_eq!(p.arrived_at, n.first_seen_at);
        assert!((Utc::now() - p.arrived_at).num_seconds().abs() < 60);
    }

    #[tokio::test]
    async fn recorded_at_wins_over_the_audio_creation_and_iris_give_ids() {
        let n = record(
            json!({"uuid": "n1", "createdAt": "2026-02-24T10:30:00Z",
                   "user": "/users/u-9",
                   "audio": {"@id": "/audios/a-2", "recordedAt": "2026-02-24T10:00:00Z",
                             "createdAt": "2026-02-24T10:20:00Z", "duration": "61.5"}}),
            Some("u-delivery"),
        )
        .await;
        let p = Provenance::of(&n);
        assert_eq!(
            p.author,
            Some(Author {
                uuid: Some("u-9".into()),
                name: None,
                email: None
            })
        );
        let r = p.recording.unwrap();
        assert_eq!(r.uuid.as_deref(), Some("a-2"));
        assert_eq!(r.duration_secs, Some(61.5));
        assert_eq!(
            r.recorded_at.map(|t| t.to_rfc3339()),
            Some("2026-02-24T10:00:00+00:00".into())
        );
    }

    #[tokio::test]
    async fn nothing_given_means_nothing_shown() {
        let bare = json!({"uuid": "n1", "createdAt": "2026-02-24T10:30:00Z", "content": "x"});
        let p = Provenance::of(&record(bare.clone(), None).await);
        assert_eq!((p.author, p.recording), (None, None));
        // Empty or unreadable values are not taken for values.
        let mut junk = bare.clone();
        junk["user"] = json!({"firstName": " ", "lastName": null});
        junk["audio"] = json!({"duration": "long", "createdAt": "yesterday"});
        let p = Provenance::of(&record(junk, None).await);
        assert_eq!((p.author, p.recording), (None, None));
        // The user a webhook delivery named, when the note itself names nobody.
        let p = Provenance::of(&record(bare, Some("u-dictating")).await);
        assert_eq!(
            p.author,
            Some(Author {
                uuid: Some("u-dictating".into()),
                name: None,
                email: None
            })
        );
    }
}
