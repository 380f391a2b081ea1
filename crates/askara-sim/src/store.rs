//! The notes the simulator serves, kept in insertion order (the order a listing without
//! `order[...]` returns). Notes are stored exactly as given; the instants and ids the
//! filters need are extracted once on insert.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::time::parse_instant;

pub(crate) struct StoredNote {
    /// Insertion order; breaks ties between equal timestamps so ordering is total.
    pub seq: u64,
    pub uuid: Option<String>,
    pub json: Value,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub patient_uuid: Option<String>,
    pub audio_uuid: String,
}

#[derive(Default)]
pub(crate) struct NoteStore {
    notes: Vec<StoredNote>,
    by_uuid: HashMap<String, usize>,
    next_seq: u64,
}

/// A uuid-shaped id derived from `input`, so synthetic audios and users are stable.
pub(crate) fn derived_uuid(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Accepts a bare uuid or an IRI such as `/patients/<uuid>`.
pub(crate) fn id_from_ref(v: &str) -> &str {
    v.rsplit('/').next().unwrap_or(v)
}

fn ref_uuid(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(id_from_ref(s).to_string()),
        Value::Object(o) => o
            .get("uuid")
            .or_else(|| o.get("@id"))
            .and_then(Value::as_str)
            .map(|s| id_from_ref(s).to_string()),
        _ => None,
    }
}

pub(crate) fn format_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

impl NoteStore {
    /// Inserts `json` as is; a note whose uuid is already stored replaces it in place, since a
    /// real server never holds two notes with one uuid.
    pub(crate) fn insert(&mut self, json: Value) -> Option<String> {
        let uuid = json.get("uuid").and_then(Value::as_str).map(str::to_string);
        let now = Utc::now();
        let created = json
            .get("createdAt")
            .and_then(Value::as_str)
            .and_then(parse_instant)
            .unwrap_or(now);
        let updated = json
            .get("updatedAt")
            .and_then(Value::as_str)
            .and_then(parse_instant)
            .unwrap_or(created);
        let patient_uuid = ref_uuid(json.get("patient"));
        let audio_uuid = ref_uuid(json.get("audio")).unwrap_or_else(|| {
            derived_uuid(&format!("audio:{}", uuid.as_deref().unwrap_or_default()))
        });
        self.next_seq += 1;
        let note = StoredNote {
            seq: self.next_seq,
            uuid: uuid.clone(),
            json,
            created,
            updated,
            patient_uuid,
            audio_uuid,
        };
        match uuid.as_ref().and_then(|u| self.by_uuid.get(u)) {
            Some(&i) => {
                let seq = self.notes[i].seq;
                self.notes[i] = StoredNote { seq, ..note };
            }
            None => {
                if let Some(u) = &uuid {
                    self.by_uuid.insert(u.clone(), self.notes.len());
                }
                self.notes.push(note);
            }
        }
        uuid
    }

    pub(crate) fn revise(&mut self, uuid: &str, content: &str, now: DateTime<Utc>) -> bool {
        let Some(&i) = self.by_uuid.get(uuid) else {
            return false;
        };
        let note = &mut self.notes[i];
        // Timestamps have whole seconds; a revision in the note's own second would leave
        // `updatedAt == createdAt` and be indistinguishable from no revision at all.
        let now = now.max(note.updated + chrono::Duration::seconds(1));
        if let Some(obj) = note.json.as_object_mut() {
            obj.insert("content".into(), Value::String(content.to_string()));
            obj.insert("updatedAt".into(), Value::String(format_instant(now)));
        }
        note.updated = now;
        true
    }

    pub(crate) fn get(&self, uuid: &str) -> Option<&StoredNote> {
        self.by_uuid.get(uuid).map(|&i| &self.notes[i])
    }

    pub(crate) fn all(&self) -> &[StoredNote] {
        &self.notes
    }

    pub(crate) fn uuids(&self) -> Vec<String> {
        self.notes.iter().filter_map(|n| n.uuid.clone()).collect()
    }
}
