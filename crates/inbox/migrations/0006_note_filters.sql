-- Askara Inbox schema, version 6: filtering the list and search by note type and by author.
--
-- Both are (value, id) like notes_status_newest: a filter walks its index newest first and the
-- LIMIT stops it, where a scan of `notes` would read every row (content inline) to find a rare
-- type. A date range needs no index: it is a range of the time key `id`.
CREATE INDEX IF NOT EXISTS notes_type_newest ON notes (note_type, id);
CREATE INDEX IF NOT EXISTS notes_author_newest ON notes (author_user_id, id);
