//! Reading a delivery: each event checked (resource, action, organisation, uuid), and the
//! note taken from Askara's API with `GET /notes/{uuid}` (a delivery is a hint, not the
//! truth), or, with `--trust-payloads` and no credentials, as delivered and marked unverified.

#[allow(unused_imports)]
use super::*;

/// One delivery's events, read.
pub(super) struct Read {
    /// Notes as Askara's API returned them.
    pub(super) notes: Vec<Note>,
    /// Payloads stored as delivered (`trust_payloads`, no credentials): marked unverified.
    pub(super) unverified: Vec<Note>,
    /// Note uuid → the Askara user the delivery names as its author.
    pub(super) authors: Vec<(String, String)>,
    pub(super) event_ids: Vec<String>,
    pub(super) fetched: Vec<String>,
    pub(super) skipped: Vec<Value>,
}

pub(super) enum ReadOutcome {
    Ready(Read),
    /// A transient failure: try the whole delivery again later.
    Defer(String),
}

impl Worker {
    pub(super) async fn read(&self, d: &PendingDelivery, org: Option<&str>) -> ReadOutcome {
        let mut read = Read {
            notes: Vec::new(),
            unverified: Vec::new(),
            authors: Vec::new(),
            event_ids: Vec::new(),
            fetched: Vec::new(),
            skipped: Vec::new(),
        };
        let body: Value = match serde_json::from_str(&d.body) {
            Ok(v) => v,
            Err(_) => {
                read.skipped.push(json!({ "reason": "unreadable body" }));
                return ReadOutcome::Ready(read);
            }
        };
        let events = body
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, ev) in events.iter().enumerate() {
            let event_id = ev
                .get("id")
                .and_then(id_string)
                .unwrap_or_else(|| format!("#{i}"));
            read.event_ids.push(event_id.clone());
            let skip = |read: &mut Read, reason: String| {
                read.skipped
                    .push(json!({ "event": event_id, "reason": reason }));
            };
            if !ev.is_object() {
                skip(&mut read, "event is not an object".into());
                continue;
            }
            let resource = ev.get("resource_type").and_then(Value::as_str);
            if resource.is_some_and(|r| r != "note") {
                skip(
                    &mut read,
                    format!(
                        "resource_type `{}` is not handled",
                        resource.unwrap_or_default()
                    ),
                );
                continue;
            }
            let action = ev.get("action").and_then(Value::as_str).unwrap_or_default();
            if action != "new_note" {
                skip(&mut read, format!("action `{action}` is not handled"));
                continue;
            }
            let Some(Value::Object(note)) = ev.get("metadata").and_then(|m| m.get("note")) else {
                skip(&mut read, "event carries no note".into());
                continue;
            };
            let meta = ev.get("resource_metadata");
            let delivered_org = meta
                .and_then(|m| m.get("organization_id"))
                .and_then(id_string);
            if let Some(ours) = org {
                if delivered_org.as_deref() != Some(ours) {
                    skip(
                        &mut read,
                        "rejected: the delivery names another organisation".into(),
                    );
                    continue;
                }
            }
            let mut note = note.clone();
            let uuid = match note.get("uuid").and_then(Value::as_str) {
                Some(u) if !u.is_empty() => u.to_string(),
                _ => match ev.get("id").and_then(Value::as_str) {
                    Some(u) if !u.is_empty() => {
                        note.insert("uuid".into(), Value::String(u.to_string()));
                        u.to_string()
                    }
                    _ => {
                        skip(&mut read, "note has no uuid".into());
                        continue;
                    }
                },
            };
            let author = meta.and_then(|m| m.get("user_id")).and_then(id_string);
            if let Some(author) = author.filter(|a| !a.is_empty()) {
                read.authors.push((uuid.clone(), author));
            }
            let Some(api) = &self.r.shared.cfg.api else {
                // Nobody can confirm the payload: stored only when the operator said so.
                let complete = note.contains_key("content") && note.contains_key("createdAt");
                match Note::from_json(Value::Object(note)) {
                    Ok(n) if complete && self.r.shared.cfg.trust_payloads => read.unverified.push(n),
                    _ if !self.r.shared.cfg.trust_payloads => skip(
                        &mut read,
                        "rejected: no Askara credentials to confirm the note (sign in, or serve --trust-payloads)".into(),
                    ),
                    _ => skip(
                        &mut read,
                        "payload lacks note fields and no Askara credentials to fetch them".into(),
                    ),
                }
                continue;
            };
            // A hint, not the truth: what Askara's API says about the uuid is what is stored.
            let delivered_updated = note
                .get("updatedAt")
                .and_then(Value::as_str)
                .and_then(askara::parse_instant);
            match self.fetch(api, &uuid, delivered_updated).await {
                Fetch::Got(n) => {
                    read.fetched.push(uuid);
                    read.notes.push(n);
                }
                Fetch::Known => {}
                Fetch::Skip(reason) => skip(&mut read, reason),
                Fetch::Defer(reason) => return ReadOutcome::Defer(reason),
            }
        }
        ReadOutcome::Ready(read)
    }

    pub(super) async fn fetch(
        &self,
        api: &askara::ApiClient,
        uuid: &str,
        delivered_updated: Option<chrono::DateTime<Utc>>,
    ) -> Fetch {
        let shared = &self.r.shared;
        // A retried delivery of a note Askara already gave us, at that version or later,
        // needs no request.
        if let (Ok(Some(known)), Some(delivered)) =
            (shared.inbox.get(uuid).await, delivered_updated)
        {
            if known.verified && known.updated_at >= delivered {
                return Fetch::Known;
            }
        }
        match api.get_note(uuid).await {
            Ok(n) if n.uuid == uuid => Fetch::Got(n),
            Ok(_) => Fetch::Skip("rejected: Askara answered with another note".into()),
            Err(ApiError::NotFound { .. }) => {
                Fetch::Skip("rejected: Askara does not know this note".into())
            }
            Err(e) if e.code() == ApiCode::BadResponse => Fetch::Skip(format!(
                "Askara's note could not be read: {}",
                e.code().as_str()
            )),
            Err(e) => Fetch::Defer(format!("fetching a note failed: {}", e.code().as_str())),
        }
    }
}

pub(super) enum Fetch {
    Got(Note),
    Known,
    Skip(String),
    Defer(String),
}

/// An id Askara may write as a string or a number.
pub(super) fn id_string(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::to_string)
        .or_else(|| v.as_u64().map(|n| n.to_string()))
}
