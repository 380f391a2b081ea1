-- Askara Inbox schema, version 3: where a note's current content came from.
--
-- verified = 1: read from Askara's API (a poll, or a webhook delivery confirmed with
-- GET /notes/{uuid}). verified = 0: a webhook payload stored as delivered, without
-- confirmation (`serve --trust-payloads` with no Askara credentials); the UI marks such notes,
-- and Askara's own version replaces them whenever it is read.
-- author_user_id: the Askara user who recorded the note, as a delivery named them.
ALTER TABLE notes ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE notes ADD COLUMN author_user_id TEXT;
