-- Askara Inbox schema, version 4: a tamper-evident audit trail.
--
-- audit_events becomes append-only (triggers refuse UPDATE and DELETE) and hash-chained: each
-- row's `hash` is SHA-256 over the previous row's hash (`prev_hash`; 64 zeros for the first
-- row) and the row's own columns (see src/audit_chain.rs for the exact encoding), in lowercase
-- hex. `askara-inbox audit verify` recomputes the chain.
--
-- The foreign key to notes(uuid) is gone: a note removed from the inbox (retention) keeps its
-- trail. SQLite cannot drop a constraint, so the table is made anew: this script renames the
-- old one to audit_events_v3 and creates the new one; the migration's Rust step
-- (audit_chain::chain_legacy_rows, same transaction) copies the old rows into it with their ids,
-- chaining them, keeps the id sequence, and drops audit_events_v3.

DROP INDEX audit_events_note;
ALTER TABLE audit_events RENAME TO audit_events_v3;

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    note_uuid   TEXT,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_events_note ON audit_events (note_uuid, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
