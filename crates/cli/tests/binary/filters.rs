//! `notes list` and `notes search` with `--since`, `--until`, `--type` and `--author`, alone
//! and together with `--status` and the search text, through the real binary; bad dates are
//! one line and exit 2.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

use crate::support::{self, Run, BIN};

/// (uuid, createdAt, type, author, content)
const NOTES: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "f1",
        "2026-03-01T09:00:00Z",
        "consultation_summary",
        Some("dr-lie"),
        "Knee pain, ice.",
    ),
    (
        "f2",
        "2026-03-01T23:59:59Z",
        "referral_letter",
        Some("dr-lie"),
        "Knee referral to physiotherapy.",
    ),
    (
        "f3",
        "2026-03-02T00:00:00Z",
        "consultation_summary",
        Some("dr-berg"),
        "Chest pain, ECG normal.",
    ),
    (
        "f4",
        "2026-03-02T15:00:00Z",
        "referral_letter",
        None,
        "Knee MRI referral.",
    ),
    (
        "f5",
        "2026-03-04T10:00:00Z",
        "consultation_summary",
        Some("dr-berg"),
        "Knee follow-up.",
    ),
];

/// Runs the binary with the local timezone fixed, so `YYYY-MM-DD` days are UTC days here.
async fn run(data: &Path, args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("TZ", "UTC")
        .env_remove("ASKARA_CLIENT_SECRET")
        .env_remove("ASKARA_INBOX_DATA_DIR")
        .envs(support::store_env(data));
    let r = Run::from(cmd.output().await.unwrap());
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

async fn seeded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let inbox = support::store_of(dir.path()).await;
    let notes = NOTES
        .iter()
        .map(|(uuid, created, ty, _, content)| {
            askara::Note::from_json(serde_json::json!({
                "uuid": uuid, "type": ty, "content": content,
                "createdAt": created, "updatedAt": created,
                "patient": {"uuid": "p-1", "firstName": "Åse", "lastName": "Ødegård"},
            }))
            .unwrap()
        })
        .collect();
    let authors: HashMap<String, String> = NOTES
        .iter()
        .filter_map(|(u, _, _, a, _)| a.map(|a| (u.to_string(), a.to_string())))
        .collect();
    let origin = inbox::Origin {
        source: inbox::Source::Webhook,
        verified: true,
        authors,
    };
    inbox.ingest_from(notes, origin, vec![]).await.unwrap();
    inbox
        .set_status("f5", inbox::Status::Reviewed, "test")
        .await
        .unwrap();
    dir
}

/// The uuids a `--json` run printed, in order.
async fn uuids(data: &Path, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.push("--json");
    let r = run(data, &all).await;
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_string())
        .collect()
}

fn one_line_usage_error(r: &Run) -> String {
    assert_eq!(r.code, 2, "stdout {} stderr {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("WARNING"))
        .collect();
    assert_eq!(lines.len(), 1, "not one line: {:?}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    lines[0].to_string()
}

#[tokio::test]
async fn list_filters_alone_and_with_status() {
    let dir = seeded().await;
    let d = dir.path();
    assert_eq!(
        uuids(d, &["notes", "list"]).await,
        ["f5", "f4", "f3", "f2", "f1"]
    );
    // A local day, --until inclusive: the note a second before midnight is in, midnight is not.
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "list",
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-01"
            ]
        )
        .await,
        ["f2", "f1"]
    );
    assert_eq!(
        uuids(d, &["notes", "list", "--since", "2026-03-02"]).await,
        ["f5", "f4", "f3"]
    );
    assert_eq!(
        uuids(d, &["notes", "list", "--until", "2026-03-02"]).await,
        ["f4", "f3", "f2", "f1"]
    );
    // RFC 3339 instants, --until including its instant.
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "list",
                "--since",
                "2026-03-01T23:59:59Z",
                "--until",
                "2026-03-02T00:00:00+00:00"
            ]
        )
        .await,
        ["f3", "f2"]
    );
    assert_eq!(
        uuids(d, &["notes", "list", "--type", "referral_letter"]).await,
        ["f4", "f2"]
    );
    assert_eq!(
        uuids(d, &["notes", "list", "--author", "dr-berg"]).await,
        ["f5", "f3"]
    );
    assert_eq!(
        uuids(
            d,
            &["notes", "list", "--author", "dr-berg", "--status", "new"]
        )
        .await,
        ["f3"]
    );
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "list",
                "--type",
                "consultation_summary",
                "--since",
                "2026-03-02",
                "--status",
                "reviewed"
            ]
        )
        .await,
        ["f5"]
    );
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "list",
                "--type",
                "referral_letter",
                "--author",
                "dr-lie",
                "--limit",
                "5"
            ]
        )
        .await,
        ["f2"]
    );
    assert!(uuids(d, &["notes", "list", "--type", "no_such_type"])
        .await
        .is_empty());
    // The table form prints the same notes, one line each.
    let r = run(d, &["notes", "list", "--type", "referral_letter"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(
        r.stdout.contains("f4") && r.stdout.contains("f2"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn search_filters_alone_and_together() {
    let dir = seeded().await;
    let d = dir.path();
    assert_eq!(
        uuids(d, &["notes", "search", "knee"]).await,
        ["f5", "f4", "f2", "f1"]
    );
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "search",
                "knee",
                "--since",
                "2026-03-02",
                "--until",
                "2026-03-03"
            ]
        )
        .await,
        ["f4"]
    );
    assert_eq!(
        uuids(d, &["notes", "search", "knee", "--type", "referral_letter"]).await,
        ["f4", "f2"]
    );
    assert_eq!(
        uuids(d, &["notes", "search", "knee", "--author", "dr-lie"]).await,
        ["f2", "f1"]
    );
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "search",
                "odegard",
                "--type",
                "consultation_summary",
                "--author",
                "dr-berg",
                "--until",
                "2026-03-03"
            ]
        )
        .await,
        ["f3"]
    );
    assert_eq!(
        uuids(
            d,
            &[
                "notes",
                "search",
                "knee",
                "--patient",
                "p-1",
                "--since",
                "2026-03-04"
            ]
        )
        .await,
        ["f5"]
    );
}

#[tokio::test]
async fn a_bad_date_is_one_line_and_exit_2() {
    let dir = seeded().await;
    let d = dir.path();
    let e = one_line_usage_error(&run(d, &["notes", "list", "--since", "yesterday"]).await);
    assert!(
        e.contains("--since `yesterday`") && e.contains("YYYY-MM-DD"),
        "{e}"
    );
    let e =
        one_line_usage_error(&run(d, &["notes", "search", "knee", "--until", "2026-02-30"]).await);
    assert!(e.contains("--until `2026-02-30`"), "{e}");
    let e = one_line_usage_error(&run(d, &["notes", "list", "--until", "2026-03-01 10:00"]).await);
    assert!(e.contains("--until"), "{e}");
    let e = one_line_usage_error(
        &run(
            d,
            &[
                "notes",
                "list",
                "--since",
                "2026-03-03",
                "--until",
                "2026-03-01",
            ],
        )
        .await,
    );
    assert!(e.contains("empty"), "{e}");
    // A flag with no value is clap's usage error: exit 2 as well.
    let r = run(d, &["notes", "list", "--type"]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
}
