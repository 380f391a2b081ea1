-- Askara Inbox schema, version 2: the webhook delivery queue.
--
-- A delivery is written here, raw, in one short transaction before the receiver answers 200;
-- a worker then ingests its notes through the one idempotent ingest path and marks it
-- processed. A process killed after the 200 finds its pending rows here on restart.
-- `outcome` is a JSON summary (counts, event ids and skip reasons), never note content.

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  TEXT    NOT NULL,
    webhook_id   TEXT,
    event_count  INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'processed', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- Not retried before this instant (after a transient failure fetching a note).
    not_before   TEXT,
    processed_at TEXT,
    outcome      TEXT,
    last_error   TEXT,
    -- The body exactly as received. Cleared once processed: the notes live in `notes`.
    body         TEXT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (state, id);
