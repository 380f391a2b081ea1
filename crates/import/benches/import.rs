//! `cargo bench -p import`: 10,000 synthetic notes with `import_batch` into PostgreSQL on
//! loopback and into a SQLite file, then single-note import latency (p50/p95) for both.
//! Targets: batch ≥ 5,000 notes/s, single-note p95 ≤ 20 ms.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use import::pg_harness::TestPostgres;
use import::{connect, ConnectOptions, ImportContext, ImportResult, ImportTarget, TargetSpec};
use std::time::{Duration, Instant};

const BATCH_NOTES: usize = 10_000;
const SINGLE_NOTES: usize = 500;

fn notes(prefix: u32, n: usize) -> Vec<askara::Note> {
    (0..n)
        .map(|i| {
            let content = format!(
                "Consultation {i}. Patient presents with a persistent cough for two weeks. {}",
                "Examination: chest clear, no fever. Plan: review in one week. ".repeat(20)
            );
            askara::Note::from_json(serde_json::json!({
                "uuid": format!("{prefix:08x}-0000-4000-8000-{i:012}"),
                "type": "consultation_summary",
                "content": content,
                "createdAt": "2026-02-24T10:30:00+00:00",
                "updatedAt": "2026-02-24T10:30:00+00:00",
                "patient": {"uuid": format!("p-{}", i % 700), "firstName": "Zoë", "lastName": "Núñez", "externalId": format!("{}", i % 700)}
            }))
            .unwrap()
        })
        .collect()
}

async fn run(name: &str, t: &dyn ImportTarget) {
    let ctx = ImportContext::new("bench", "bench-ws");
    let batch = notes(1, BATCH_NOTES);
    let started = Instant::now();
    let res = t.import_batch(&batch, &ctx).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(res
        .iter()
        .all(|r| matches!(r, Ok(o) if o.result == ImportResult::Imported)));
    println!(
        "{name:<10} import_batch  {BATCH_NOTES} notes in {secs:.2} s = {:>8.0} notes/s (target >= 5000)",
        BATCH_NOTES as f64 / secs
    );
    // Re-importing the same notes: all unchanged.
    let started = Instant::now();
    let res = t.import_batch(&batch, &ctx).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(res
        .iter()
        .all(|r| matches!(r, Ok(o) if o.result == ImportResult::Unchanged)));
    println!(
        "{name:<10} re-import     {BATCH_NOTES} notes in {secs:.2} s = {:>8.0} notes/s (all unchanged)",
        BATCH_NOTES as f64 / secs
    );

    let single = notes(2, SINGLE_NOTES);
    let mut lat: Vec<Duration> = Vec::with_capacity(SINGLE_NOTES);
    for n in &single {
        let s = Instant::now();
        let o = t.import(n, &ctx).await.unwrap();
        lat.push(s.elapsed());
        assert_eq!(o.result, ImportResult::Imported);
    }
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{name:<10} import (one)  {SINGLE_NOTES} notes: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (target p95 <= 20 ms)",
        pct(0.50),
        pct(0.95),
        pct(1.0)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special: run anyway.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pg = TestPostgres::start_durable().expect("cannot start the bench PostgreSQL (install postgresql)");
        let spec = TargetSpec::parse(&pg.url_without_password).unwrap().with_password(&pg.password);
        let t = connect(&spec, None, ConnectOptions::default()).await.unwrap();
        run("postgres", t.as_ref()).await;

        // A mapping onto a practice table with a patient lookup: 3 statements per note.
        let (db, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        db.batch_execute(
            "CREATE TABLE patients (id serial PRIMARY KEY, ext_ref text UNIQUE);
             INSERT INTO patients (ext_ref) SELECT g::text FROM generate_series(0, 699) g;
             CREATE TABLE notes (id bigserial PRIMARY KEY, askara_uuid text UNIQUE NOT NULL,
                 body text NOT NULL, written_at timestamptz, patient_id int REFERENCES patients(id));",
        )
        .await
        .unwrap();
        let m = import::Mapping::from_toml_str(
            r#"table = "notes"
            [columns]
            uuid = "askara_uuid"
            content = "body"
            created_at = "written_at"
            [patient_lookup]
            query = "SELECT id FROM patients WHERE ext_ref = $1"
            key = "external_id"
            column = "patient_id""#,
        )
        .unwrap();
        let t = connect(&spec, Some(m), ConnectOptions::default()).await.unwrap();
        run("pg-mapped", t.as_ref()).await;

        let dir = tempfile::tempdir().unwrap();
        let spec = TargetSpec::parse(&format!("sqlite:{}", dir.path().join("bench.db").display())).unwrap();
        let t = connect(&spec, None, ConnectOptions::default()).await.unwrap();
        run("sqlite", t.as_ref()).await;
        drop(pg);
    });
}
