-- Askara Inbox schema, version 1.
--
-- Timestamps are UTC text in one fixed-width form ('YYYY-MM-DDTHH:MM:SS.fffffffffZ'), so text
-- order is time order and the file stays readable with the sqlite3 shell. The strings exactly as
-- Askara sent them are kept beside them (*_raw).
--
-- notes.id is a time key, not an insertion counter: createdAt seconds * 2^24 + the sub-second
-- fraction scaled to 2^24, bumped to the next free value when taken. So id order is createdAt
-- order (ties: arrival order), the primary key serves newest-first listing, and notes_fts rowids
-- (= notes.id) let FTS5 walk matches newest first without sorting.

CREATE TABLE notes (
    id                 INTEGER PRIMARY KEY,
    uuid               TEXT    NOT NULL UNIQUE,
    status             TEXT    NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'reviewed', 'imported', 'dismissed', 'revised')),
    patient_uuid       TEXT,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    created_at_raw     TEXT    NOT NULL,
    updated_at_raw     TEXT    NOT NULL,
    status_changed_at  TEXT    NOT NULL,
    first_seen_at      TEXT    NOT NULL,
    source             TEXT    NOT NULL CHECK (source IN ('poll', 'webhook')),
    note_type          TEXT,
    -- the patient as embedded in this note (has_patient = 0: null or absent)
    has_patient        INTEGER NOT NULL DEFAULT 0,
    patient_first_name TEXT,
    patient_last_name  TEXT,
    patient_external_id TEXT,
    raw_content_elided INTEGER NOT NULL DEFAULT 0,
    -- The large columns come last, so filters on the columns above never read their overflow
    -- pages. `raw` is the note JSON as received; when raw_content_elided = 1 its "content"
    -- value was replaced by null to store the text once, and is put back on reading.
    content            TEXT    NOT NULL,
    raw                TEXT    NOT NULL
);
CREATE INDEX notes_status_newest ON notes (status, id);
CREATE INDEX notes_patient_newest ON notes (patient_uuid, id);

-- Previous contents of revised notes, one row per replaced version.
CREATE TABLE note_versions (
    id                 INTEGER PRIMARY KEY,
    note_uuid          TEXT    NOT NULL REFERENCES notes (uuid) ON DELETE CASCADE,
    note_type          TEXT,
    content            TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    created_at_raw     TEXT    NOT NULL,
    updated_at_raw     TEXT    NOT NULL,
    has_patient        INTEGER NOT NULL,
    patient_uuid       TEXT,
    patient_first_name TEXT,
    patient_last_name  TEXT,
    patient_external_id TEXT,
    status             TEXT    NOT NULL,
    raw                TEXT    NOT NULL,
    raw_content_elided INTEGER NOT NULL,
    replaced_at        TEXT    NOT NULL
);
CREATE INDEX note_versions_note ON note_versions (note_uuid, id);

-- Patients seen in notes. Names come from the latest note that carried them.
CREATE TABLE patients (
    uuid           TEXT    PRIMARY KEY,
    first_name     TEXT,
    last_name      TEXT,
    external_id    TEXT,
    search_folded  TEXT    NOT NULL DEFAULT '',
    note_count     INTEGER NOT NULL DEFAULT 0,
    latest_note_at TEXT,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX patients_latest ON patients (latest_note_at);

-- Who did what to which note, and when. Never updated, never deleted.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    note_uuid   TEXT    REFERENCES notes (uuid),
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_note ON audit_events (note_uuid, id);

-- Sync progress (watermarks, cursors), written in the same transaction as the notes it covers.
CREATE TABLE sync_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Full-text index over folded text (see fold()): body = type + content, names = patient names
-- and external id, pt = one token per patient uuid (used to filter a search by patient).
-- Contentless: the text lives in `notes`; rowid = notes.id.
CREATE VIRTUAL TABLE notes_fts USING fts5 (
    body, names, pt,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO notes_fts (notes_fts, rank) VALUES ('rank', 'bm25(1.0, 4.0, 0.0)');

-- Every distinct token indexed in notes_fts (body and names), so the search-as-you-type prefix
-- on the last word can be expanded into exact terms: an OR of exact terms streams newest-first
-- through FTS5, where an FTS5 prefix query first merges the whole doclist. Never pruned
-- (a stale term matches nothing).
CREATE TABLE fts_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;

-- Notes per status, kept by triggers, so counts() costs five rows, not a scan.
CREATE TABLE status_counts (
    status TEXT    PRIMARY KEY,
    n      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO status_counts (status) VALUES ('new'), ('reviewed'), ('imported'), ('dismissed'), ('revised');
CREATE TRIGGER notes_count_insert AFTER INSERT ON notes BEGIN
    UPDATE status_counts SET n = n + 1 WHERE status = new.status;
END;
CREATE TRIGGER notes_count_delete AFTER DELETE ON notes BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER notes_count_update AFTER UPDATE OF status ON notes WHEN old.status <> new.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = old.status;
    UPDATE status_counts SET n = n + 1 WHERE status = new.status;
END;
