-- Askara Inbox on the clinic's PostgreSQL ("clinic mode"), schema version 1. Everything lives
-- in the schema askara_inbox; `askara-inbox --inbox URL inbox init` applies this (and any later
-- file) as a role that may create, and grants the group role askara_inbox_staff what desks need.
--
-- The same behaviour as the SQLite inbox (crates/inbox/migrations), in PostgreSQL's terms:
-- timestamps are the same fixed-width UTC text ('YYYY-MM-DDTHH:MM:SS.fffffffffZ', text order is
-- time order, nanoseconds kept as Askara sent them); `search_doc` is the folded tokens of the
-- note (crates/inbox/src/fold.rs: the same folding as the SQLite index) as a tsvector with a GIN
-- index; audit_events is append-only and hash-chained with the SQLite encoding, and its actor is
-- the connected role (a trigger refuses any other), which no desk can forge.

CREATE TABLE notes (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                text    NOT NULL UNIQUE,
    status              text    NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'reviewed', 'imported', 'dismissed', 'revised')),
    patient_uuid        text,
    created_at          text    NOT NULL,
    updated_at          text    NOT NULL,
    created_at_raw      text    NOT NULL,
    updated_at_raw      text    NOT NULL,
    status_changed_at   text    NOT NULL,
    status_changed_by   text    NOT NULL DEFAULT current_user,
    first_seen_at       text    NOT NULL,
    source              text    NOT NULL CHECK (source IN ('poll', 'webhook')),
    note_type           text,
    has_patient         boolean NOT NULL DEFAULT false,
    patient_first_name  text,
    patient_last_name   text,
    patient_external_id text,
    patient_date_of_birth text,
    patient_unmatched   boolean NOT NULL DEFAULT false,
    verified            boolean NOT NULL DEFAULT true,
    author_user_id      text,
    search_doc          tsvector NOT NULL,
    content             text    NOT NULL,
    raw                 text    NOT NULL
);
-- Newest first is (created_at, id) descending, for every list.
CREATE INDEX notes_newest ON notes (created_at DESC, id DESC);
CREATE INDEX notes_status_newest ON notes (status, created_at DESC, id DESC);
CREATE INDEX notes_patient_newest ON notes (patient_uuid, created_at DESC, id DESC);
CREATE INDEX notes_type_newest ON notes (note_type, created_at DESC, id DESC);
CREATE INDEX notes_author_newest ON notes (author_user_id, created_at DESC, id DESC);
CREATE INDEX notes_search ON notes USING gin (search_doc);
CREATE INDEX notes_needs_patient ON notes (created_at DESC, id DESC)
    WHERE status IN ('new', 'reviewed', 'revised')
      AND (NOT has_patient OR patient_uuid IS NULL OR patient_first_name IS NULL
           OR patient_last_name IS NULL OR patient_unmatched);

CREATE TABLE note_versions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note_uuid           text    NOT NULL REFERENCES notes (uuid) ON DELETE CASCADE ON UPDATE CASCADE,
    note_type           text,
    content             text    NOT NULL,
    created_at          text    NOT NULL,
    updated_at          text    NOT NULL,
    created_at_raw      text    NOT NULL,
    updated_at_raw      text    NOT NULL,
    has_patient         boolean NOT NULL,
    patient_uuid        text,
    patient_first_name  text,
    patient_last_name   text,
    patient_external_id text,
    status              text    NOT NULL,
    raw                 text    NOT NULL,
    replaced_at         text    NOT NULL
);
CREATE INDEX note_versions_note ON note_versions (note_uuid, id);

CREATE TABLE patients (
    uuid           text    PRIMARY KEY,
    first_name     text,
    last_name      text,
    external_id    text,
    date_of_birth  text,
    search_folded  text    NOT NULL DEFAULT '',
    note_count     bigint  NOT NULL DEFAULT 0,
    latest_note_at text,
    updated_at     text    NOT NULL,
    fetched_at     text,
    fetch_tried_at text,
    needs_fetch    boolean NOT NULL DEFAULT true
);
CREATE INDEX patients_latest ON patients (latest_note_at DESC NULLS LAST, uuid);
CREATE INDEX patients_to_fetch ON patients (fetch_tried_at NULLS FIRST) WHERE needs_fetch;

CREATE TABLE patient_assignments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note_uuid           text    NOT NULL REFERENCES notes (uuid) ON DELETE CASCADE,
    practice_patient_id text    NOT NULL,
    patient_name        text,
    date_of_birth       text,
    external_id         text,
    target              text    NOT NULL,
    assigned_by         text    NOT NULL,
    assigned_at         text    NOT NULL,
    undone_by           text,
    undone_at           text
);
CREATE UNIQUE INDEX patient_assignments_live ON patient_assignments (note_uuid)
    WHERE undone_at IS NULL;

-- The audit trail. Ids are handed out by the writer holding the chain's lock (see audit.rs),
-- so they have no gaps; `audit_head` records the last id and hash written, so rows removed
-- from the end show (as SQLite's sqlite_sequence does there).
CREATE TABLE audit_events (
    id          bigint  PRIMARY KEY,
    note_uuid   text,
    at          text    NOT NULL,
    actor       text    NOT NULL,
    action      text    NOT NULL,
    from_status text,
    to_status   text,
    detail      text    NOT NULL DEFAULT '{}',
    prev_hash   text    NOT NULL,
    hash        text    NOT NULL
);
CREATE INDEX audit_events_note ON audit_events (note_uuid, id);
CREATE TABLE audit_head (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint  NOT NULL,
    hash    text    NOT NULL
);
INSERT INTO audit_head (last_id, hash)
    VALUES (0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- A person's row names the connected role. `sync` (the poller's ingest) and `retention` are
-- written by the clinic server's role; a staff role cannot write them as it lacks the grants
-- on notes those writers need, and cannot name anyone else.
CREATE FUNCTION audit_actor_is_current_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.actor <> current_user::text AND NEW.actor NOT IN ('sync', 'retention') THEN
        RAISE EXCEPTION 'audit actor % is not the connected role %', NEW.actor, current_user;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_actor BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_actor_is_current_user();

CREATE TABLE sync_state (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at text NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  text    NOT NULL,
    webhook_id   text,
    event_count  integer NOT NULL,
    state        text    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'processed', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    not_before   text,
    processed_at text,
    outcome      text,
    last_error   text,
    body         text
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (state, id);

-- Every change a desk should show at once: NOTIFY askara_inbox_changed, payload the note's uuid
-- (empty for changes that are not one note's). Sent at commit, so a desk never reads ahead.
CREATE FUNCTION notify_note_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('askara_inbox_changed', OLD.uuid);
    ELSE
        PERFORM pg_notify('askara_inbox_changed', NEW.uuid);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER notes_changed AFTER INSERT OR UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION notify_note_changed();
CREATE FUNCTION notify_sync_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('askara_inbox_changed', '');
    RETURN NULL;
END $$;
CREATE TRIGGER sync_state_changed AFTER INSERT OR UPDATE ON sync_state
    FOR EACH STATEMENT EXECUTE FUNCTION notify_sync_changed();
