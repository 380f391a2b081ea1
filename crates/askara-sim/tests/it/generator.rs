use std::collections::{HashMap, HashSet};
use std::time::Duration;

use askara_sim::generator::{generate_note, NOTE_TYPES};
use askara_sim::SimConfig;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::start;

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn generation_is_deterministic_per_seed() {
    let a = start(SimConfig::default()).await;
    let b = start(SimConfig::default()).await;
    let ua = a.add_generated(40, 42);
    let ub = b.add_generated(40, 42);
    assert_eq!(ua, ub);
    for u in &ua {
        let (na, nb) = (a.note(u).unwrap(), b.note(u).unwrap());
        assert_eq!(na["content"], nb["content"]);
        assert_eq!(na["patient"], nb["patient"]);
        assert_eq!(na["type"], nb["type"]);
    }
    // A second batch continues the stream instead of repeating it.
    let more = a.add_generated(40, 42);
    let distinct: HashSet<_> = ua.iter().chain(&more).collect();
    assert_eq!(distinct.len(), 80);
    assert_ne!(a.add_generated(5, 43), b.add_generated(5, 44));

    let at = Utc::now();
    assert_eq!(generate_note(1, 2, at), generate_note(1, 2, at));
    assert_ne!(
        generate_note(1, 2, at)["uuid"],
        generate_note(1, 3, at)["uuid"]
    );
}

#[tokio::test]
async fn generated_notes_are_varied_and_realistic() {
    let sim = start(SimConfig::default()).await;
    let before = Utc::now();
    let uuids = sim.add_generated(500, 7);
    let notes: Vec<Value> = uuids.iter().map(|u| sim.note(u).unwrap()).collect();

    let types: HashSet<_> = notes.iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), NOTE_TYPES.len());

    let markers = [
        "Patient presents",
        "Le patient",
        "Der Patient",
        "El paciente",
        "Pasienten",
    ];
    for m in markers {
        assert!(
            notes
                .iter()
                .any(|n| n["content"].as_str().unwrap().contains(m)),
            "{m}"
        );
    }
    let names: HashSet<String> = notes
        .iter()
        .filter_map(|n| n["patient"]["lastName"].as_str().map(str::to_string))
        .collect();
    for accented in [
        "Ødegård",
        "Núñez",
        "Müller",
        "François",
        "Wąsowski",
        "Dvořák",
    ] {
        assert!(names.contains(accented), "{accented}");
    }
    assert!(notes.iter().any(|n| n["patient"].is_null()));
    assert!(notes.iter().any(|n| n["patient"]["externalId"].is_string()));
    assert!(notes
        .iter()
        .any(|n| n["patient"].is_object() && n["patient"].get("externalId").is_none()));

    // The pool recurs: one patient uuid always carries the same name.
    let mut by_patient: HashMap<&str, HashSet<&str>> = HashMap::new();
    for n in &notes {
        if let Some(id) = n["patient"]["uuid"].as_str() {
            by_patient
                .entry(id)
                .or_default()
                .insert(n["patient"]["lastName"].as_str().unwrap());
        }
    }
    assert!(by_patient.len() <= 24);
    assert!(by_patient.values().all(|names| names.len() == 1));

    let contents: Vec<&str> = notes
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert!(contents
        .iter()
        .any(|c| c.contains("<script>alert(1)</script>") || c.contains("onerror=")));
    assert!(contents.iter().any(|c| c.contains("## ")));
    assert!(contents
        .iter()
        .any(|c| (20_000..=62_000).contains(&c.len())));

    let stamps: Vec<&str> = notes
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap())
        .collect();
    assert!(stamps.iter().any(|s| s.ends_with("+00:00")));
    assert!(stamps.iter().any(|s| s.ends_with('Z')));

    let created: Vec<DateTime<Utc>> = notes.iter().map(|n| instant(&n["createdAt"])).collect();
    assert!(
        created.windows(2).all(|w| w[0] <= w[1]),
        "chronological insertion"
    );
    let shared = created.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(shared > 50, "many notes share a second: {shared}");
    assert!(*created.last().unwrap() <= Utc::now());
    assert!(created[0] >= before - chrono::Duration::days(3) - chrono::Duration::seconds(1));
    assert!(created[0] < before - chrono::Duration::days(2));
    assert!(notes
        .iter()
        .any(|n| instant(&n["updatedAt"]) > instant(&n["createdAt"])));
    assert!(notes
        .iter()
        .all(|n| instant(&n["updatedAt"]) >= instant(&n["createdAt"])));
}

#[tokio::test]
async fn generated_at_one_instant() {
    let sim = start(SimConfig::default()).await;
    let at = DateTime::parse_from_rfc3339("2026-02-24T10:30:00+00:00")
        .unwrap()
        .with_timezone(&Utc);
    let uuids = sim.add_generated_at(6, 3, at);
    assert_eq!(uuids.len(), 6);
    for u in &uuids {
        assert_eq!(instant(&sim.note(u).unwrap()["createdAt"]), at);
    }
    assert_eq!(sim.note_uuids(), uuids);
}

#[tokio::test]
async fn spawn_generator_adds_notes_over_time() {
    let sim = start(SimConfig::default()).await;
    let mut events = sim.subscribe_notes();
    let task = sim.spawn_generator(Duration::from_millis(20), 5);
    let first = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    let uuids = sim.note_uuids();
    assert!(uuids.len() >= 2, "{}", uuids.len());
    assert_eq!(first["uuid"].as_str(), Some(uuids[0].as_str()));
}
