//! The tamper-evident audit trail. `audit_events` is append-only (triggers refuse UPDATE and
//! DELETE), and each row carries `hash` = SHA-256 over an unambiguous encoding of the previous
//! row's hash and the row's own columns, so a row altered, removed or re-linked with a raw SQLite
//! editor (which can drop the triggers) breaks the chain at that row.
//!
//! What a chain cannot do: someone holding the inbox key can rewrite every row after the one
//! they altered, recomputing each hash, and the chain is consistent again. Only a hash recorded
//! outside the inbox catches that, which is why [`Inbox::verify_audit`] returns the head hash
//! (`audit verify` prints it, for IT to record and compare later).
//!
//! Writers append through [`append`] inside their write transaction (`BEGIN IMMEDIATE`): SQLite
//! has one writer at a time across processes, so reading the last hash there is race-free.

use chrono::Utc;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::store::{note_status, ts};
use crate::{Inbox, InboxError, Status};

/// The `prev_hash` of the first row.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation: a hash of this trail is never a hash of anything else.
const DOMAIN: &[u8] = b"askara-inbox/audit_events/v1";

/// A reader's repeated open of the same note by the same person within this window is one read:
/// the desktop reloads the open note after every sync and every change.
pub const READ_REPEAT_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// The result of checking the whole trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every row is as written: `rows` rows, the last one's hash is `head` (the genesis value
    /// for an empty trail).
    Intact { rows: u64, head: String },
    /// The first row where the trail stops being what was written.
    Broken(AuditBreak),
}

/// Where and how the trail breaks. `Display` is one line for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The first broken row (for missing rows: the first missing id).
    pub id: i64,
    pub problem: AuditProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditProblem {
    /// The row's columns no longer match its hash: it was edited after it was written.
    Altered,
    /// The row's `prev_hash` is not the previous row's hash (`previous`: its id; `None` for the
    /// first row, which must start from the genesis value): a row before it was altered and
    /// re-hashed, or this one was re-linked.
    ChainBroken { previous: Option<i64> },
    /// Rows `id..=last` are gone from the middle (or the start) of the trail.
    Missing { last: i64 },
    /// Rows `id..=last` are gone from the end: the trail's sequence says `last` was written.
    MissingAtEnd { last: i64 },
    /// SQLite's record of the last id handed out (`sqlite_sequence`) was lowered or removed
    /// below the last row (`id`); `seq` is what it says now.
    SequenceAltered { seq: i64 },
}

impl std::fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.id;
        match &self.problem {
            AuditProblem::Altered => write!(
                f,
                "audit row {id} was altered after it was written (its contents no longer match its hash)"
            ),
            AuditProblem::ChainBroken { previous: Some(p) } => write!(
                f,
                "audit row {id} does not follow row {p} (chain broken: row {p} was rewritten and re-hashed, or row {id} was re-linked)"
            ),
            AuditProblem::ChainBroken { previous: None } => write!(
                f,
                "audit row {id} does not start the chain (chain broken: earlier rows were removed or the row was re-linked)"
            ),
            AuditProblem::Missing { last } if *last == id => {
                write!(f, "audit row {id} is missing (deleted from the trail)")
            }
            AuditProblem::Missing { last } => {
                write!(f, "audit rows {id} to {last} are missing (deleted from the trail)")
            }
            AuditProblem::MissingAtEnd { last } if *last == id => write!(
                f,
                "audit row {id} is missing (deleted from the end of the trail)"
            ),
            AuditProblem::MissingAtEnd { last } => write!(
                f,
                "audit rows {id} to {last} are missing (deleted from the end of the trail)"
            ),
            AuditProblem::SequenceAltered { seq } => write!(
                f,
                "audit row {id}: the trail's id sequence was altered (it says {seq}, below this row's id)"
            ),
        }
    }
}

/// Appends one row to the chain inside the caller's write transaction; returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn append(
    c: &Connection,
    uuid: &str,
    at: &str,
    actor: &str,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    detail: &str,
) -> Result<i64, InboxError> {
    let (seq, last_id, last_hash): (i64, Option<i64>, Option<String>) = c
        .prepare_cached(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0),
                    (SELECT id FROM audit_events ORDER BY id DESC LIMIT 1),
                    (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    // Never reuse an id the sequence handed out: rows removed from the end stay visible as a gap.
    let id = seq.max(last_id.unwrap_or(0)) + 1;
    let prev = last_hash.unwrap_or_else(|| AUDIT_GENESIS.to_string());
    let (from, to) = (from.map(Status::as_str), to.map(Status::as_str));
    let hash = row_hash(
        &prev,
        id,
        [
            text(Some(uuid)),
            text(Some(at)),
            text(Some(actor)),
            text(Some(action)),
            text(from),
            text(to),
            text(Some(detail)),
        ],
    );
    c.prepare_cached(
        "INSERT INTO audit_events
           (id, note_uuid, at, actor, action, from_status, to_status, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id, uuid, at, actor, action, from, to, detail, prev, hash
    ])?;
    Ok(id)
}

fn text(s: Option<&str>) -> ValueRef<'_> {
    s.map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes()))
}

/// SHA-256 over: the domain, `prev`, `id`, then note_uuid, at, actor, action, from_status,
/// to_status, detail, each as stored (type tag, then length-prefixed bytes), so no two
/// different rows encode the same; lowercase hex.
pub(crate) fn row_hash(prev: &str, id: i64, cols: [ValueRef<'_>; 7]) -> String {
    let mut h = Sha256::new();
    put_bytes(&mut h, DOMAIN);
    put_value(&mut h, ValueRef::Text(prev.as_bytes()));
    put_value(&mut h, ValueRef::Integer(id));
    for v in cols {
        put_value(&mut h, v);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// [`row_hash`] for a store that keeps every column as text or null (the shared PostgreSQL
/// inbox): the same encoding, so one verifier's rules hold for both.
pub fn audit_row_hash(prev: &str, id: i64, cols: [Option<&str>; 7]) -> String {
    row_hash(prev, id, cols.map(text))
}

fn put_bytes(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_be_bytes());
    h.update(b);
}

fn put_value(h: &mut Sha256, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => h.update([0u8]),
        ValueRef::Integer(i) => {
            h.update([1u8]);
            h.update(i.to_be_bytes());
        }
        ValueRef::Real(r) => {
            h.update([2u8]);
            h.update(r.to_bits().to_be_bytes());
        }
        ValueRef::Text(t) => {
            h.update([3u8]);
            put_bytes(h, t);
        }
        ValueRef::Blob(b) => {
            h.update([4u8]);
            put_bytes(h, b);
        }
    }
}

/// Checks every row, oldest first, inside one read snapshot.
pub(crate) fn verify_blocking(c: &mut Connection) -> Result<AuditCheck, InboxError> {
    let tx = c.transaction()?;
    let seq: Option<i64> = tx
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let mut st = tx.prepare(
        "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail, prev_hash, hash
           FROM audit_events ORDER BY id",
    )?;
    let mut rows = st.query([])?;
    let mut rows_seen: u64 = 0;
    let mut prev: Option<(i64, String)> = None;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let expected_id = prev.as_ref().map_or(1, |(p, _)| p + 1);
        let broken = |problem| AuditCheck::Broken(AuditBreak { id, problem });
        if id > expected_id {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: expected_id,
                problem: AuditProblem::Missing { last: id - 1 },
            }));
        }
        let cols = [
            r.get_ref(1)?,
            r.get_ref(2)?,
            r.get_ref(3)?,
            r.get_ref(4)?,
            r.get_ref(5)?,
            r.get_ref(6)?,
            r.get_ref(7)?,
        ];
        let stored_prev = as_text(r.get_ref(8)?);
        let stored_hash = as_text(r.get_ref(9)?);
        let computed = row_hash(stored_prev.as_deref().unwrap_or(""), id, cols);
        if stored_prev.is_none() || stored_hash.as_deref() != Some(computed.as_str()) {
            return Ok(broken(AuditProblem::Altered));
        }
        let expected_prev = prev.as_ref().map_or(AUDIT_GENESIS, |(_, h)| h.as_str());
        if stored_prev.as_deref() != Some(expected_prev) {
            return Ok(broken(AuditProblem::ChainBroken {
                previous: prev.as_ref().map(|(p, _)| *p),
            }));
        }
        rows_seen += 1;
        prev = Some((id, computed));
    }
    let last = prev.as_ref().map_or(0, |(p, _)| *p);
    match seq {
        Some(s) if s > last => {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: last + 1,
                problem: AuditProblem::MissingAtEnd { last: s },
            }))
        }
        Some(s) if s < last => {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: last,
                problem: AuditProblem::SequenceAltered { seq: s },
            }))
        }
        None if last > 0 => {
            return Ok(AuditCheck::Broken(AuditBreak {
                id: last,
                problem: AuditProblem::SequenceAltered { seq: 0 },
            }))
        }
        _ => {}
    }
    Ok(AuditCheck::Intact {
        rows: rows_seen,
        head: prev.map_or_else(|| AUDIT_GENESIS.to_string(), |(_, h)| h),
    })
}

fn as_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// Migration 4's Rust step: its SQL renamed the old table to `audit_events_v3` and made the new,
/// chained one. Copies the old rows in id order (ids kept), chaining them, keeps the id sequence
/// where it was, and drops the old table. Runs inside the migration's transaction.
pub(crate) fn chain_legacy_rows(c: &Connection) -> Result<(), InboxError> {
    let old_seq: Option<i64> = c
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'audit_events_v3'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let mut prev = AUDIT_GENESIS.to_string();
    let mut last = 0;
    {
        let mut read = c.prepare(
            "SELECT id, note_uuid, at, actor, action, from_status, to_status, detail
               FROM audit_events_v3 ORDER BY id",
        )?;
        let mut insert = c.prepare(
            "INSERT INTO audit_events
               (id, note_uuid, at, actor, action, from_status, to_status, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let cols = [
                r.get_ref(1)?,
                r.get_ref(2)?,
                r.get_ref(3)?,
                r.get_ref(4)?,
                r.get_ref(5)?,
                r.get_ref(6)?,
                r.get_ref(7)?,
            ];
            let hash = row_hash(&prev, id, cols);
            let c = cols.map(ToSqlOutput::Borrowed);
            insert.execute(params![
                id, c[0], c[1], c[2], c[3], c[4], c[5], c[6], prev, hash
            ])?;
            prev = hash;
            last = id;
        }
    }
    // Inserting explicit ids moved the new sequence to the last id; the old one may say more.
    if let Some(s) = old_seq.filter(|s| *s > last) {
        let updated = c.execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'audit_events'",
            [s],
        )?;
        if updated == 0 {
            c.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('audit_events', ?1)",
                [s],
            )?;
        }
    }
    c.execute_batch("DROP TABLE audit_events_v3")?;
    Ok(())
}

impl Inbox {
    /// Checks the whole audit trail: every row's hash, the chain between rows, and that no id
    /// is missing. Intact: the row count and the head hash (record it outside the inbox: a
    /// later full rewrite of the chain by someone with the key shows as a different head).
    pub async fn verify_audit(&self) -> Result<AuditCheck, InboxError> {
        self.run(verify_blocking).await
    }

    /// Records that `actor` opened a note (action `read`, no detail). Unknown uuid: `NotFound`.
    /// Opening the same note again within [`READ_REPEAT_WINDOW`] with nothing recorded for it
    /// in between is the same read: returns `false`, writes nothing.
    pub async fn record_read(&self, uuid: &str, actor: &str) -> Result<bool, InboxError> {
        let (uuid, actor) = (uuid.to_string(), actor.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let wrote = read_one(&tx, &uuid, &actor, Utc::now(), "{}")?;
            tx.commit()?;
            Ok(wrote)
        })
        .await
    }

    /// Records that `actor` was shown the full text of every note in `uuids` at once (a CLI
    /// `list --json` or `search --json`), one `read` row each (detail `{"bulk":true}`), in one
    /// transaction, with the same repeat rule as [`Inbox::record_read`]. Returns the rows
    /// written.
    pub async fn record_bulk_read(
        &self,
        uuids: Vec<String>,
        actor: &str,
    ) -> Result<usize, InboxError> {
        let actor = actor.to_string();
        self.run(move |c| {
            let now = Utc::now();
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut wrote = 0;
            for uuid in &uuids {
                wrote += usize::from(read_one(&tx, uuid, &actor, now, r#"{"bulk":true}"#)?);
            }
            tx.commit()?;
            Ok(wrote)
        })
        .await
    }
}

/// One read row for `uuid`, unless the same actor's read of it is the last row and recent.
fn read_one(
    tx: &rusqlite::Transaction<'_>,
    uuid: &str,
    actor: &str,
    now: chrono::DateTime<Utc>,
    detail: &str,
) -> Result<bool, InboxError> {
    if note_status(tx, uuid)?.is_none() {
        return Err(InboxError::NotFound {
            uuid: uuid.to_string(),
        });
    }
    let last: Option<(String, String, String)> = tx
        .prepare_cached(
            "SELECT action, actor, at FROM audit_events WHERE note_uuid = ?1
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row([uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let since = ts(now - READ_REPEAT_WINDOW);
    if let Some((action, by, at)) = last {
        // Fixed-width UTC text: text order is time order.
        if action == "read" && by == actor && at >= since {
            return Ok(false);
        }
    }
    append(tx, uuid, &ts(now), actor, "read", None, None, detail)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_row(c: &Connection, id: i64) -> (String, String) {
        c.query_row(
            "SELECT prev_hash, at FROM audit_events WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// Rewrites row `id`'s actor and recomputes its hash, as someone who knows the scheme would.
    fn forge(c: &Connection, id: i64, actor: &str) {
        let (prev, at) = read_row(c, id);
        let hash = row_hash(
            &prev,
            id,
            [
                text(Some("n")),
                text(Some(&at)),
                text(Some(actor)),
                text(Some("read")),
                ValueRef::Null,
                ValueRef::Null,
                text(Some("{}")),
            ],
        );
        c.execute(
            "UPDATE audit_events SET actor = ?2, hash = ?3 WHERE id = ?1",
            params![id, actor, hash],
        )
        .unwrap();
    }

    #[test]
    fn a_row_rewritten_and_re_hashed_breaks_the_chain_at_the_next_row() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        for day in 1..=3 {
            let at = format!("2026-01-0{day}T00:00:00.000000000Z");
            append(&c, "n", &at, "os:staff", "read", None, None, "{}").unwrap();
        }
        let head = match verify_blocking(&mut c).unwrap() {
            AuditCheck::Intact { rows: 3, head } => head,
            other => panic!("{other:?}"),
        };
        c.execute_batch("DROP TRIGGER audit_events_no_update")
            .unwrap();
        forge(&c, 2, "os:dr.x");
        assert_eq!(
            verify_blocking(&mut c).unwrap(),
            AuditCheck::Broken(AuditBreak {
                id: 3,
                problem: AuditProblem::ChainBroken { previous: Some(2) }
            })
        );
        // The limit of any chain: rewriting every later row too makes it consistent again.
        // Only the head hash, recorded outside the inbox, tells.
        let new_prev: String = c
            .query_row("SELECT hash FROM audit_events WHERE id = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        c.execute(
            "UPDATE audit_events SET prev_hash = ?1 WHERE id = 3",
            [new_prev],
        )
        .unwrap();
        forge(&c, 3, "os:staff");
        match verify_blocking(&mut c).unwrap() {
            AuditCheck::Intact { rows: 3, head: h } => assert_ne!(h, head),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        let v = |a: &'static str, b: &'static str| {
            row_hash(
                AUDIT_GENESIS,
                1,
                [
                    text(Some(a)),
                    text(Some(b)),
                    text(Some("x")),
                    text(Some("x")),
                    ValueRef::Null,
                    ValueRef::Null,
                    text(Some("{}")),
                ],
            )
        };
        assert_ne!(v("ab", "c"), v("a", "bc"));
        let null_vs_empty = |s: Option<&str>| {
            row_hash(
                AUDIT_GENESIS,
                1,
                [
                    text(Some("n")),
                    text(Some("t")),
                    text(Some("x")),
                    text(Some("x")),
                    text(s),
                    ValueRef::Null,
                    text(Some("{}")),
                ],
            )
        };
        assert_ne!(null_vs_empty(None), null_vs_empty(Some("")));
        assert_ne!(
            row_hash(AUDIT_GENESIS, 1, [ValueRef::Null; 7]),
            row_hash(AUDIT_GENESIS, 2, [ValueRef::Null; 7])
        );
    }
}
