-- Askara Inbox schema, version 5: removing a note from the search index removes its tokens
-- from the index's segments at once (FTS5 secure-delete), instead of leaving them there until
-- the next merge. Retention relies on it: removed text must not linger in the file.
INSERT INTO notes_fts (notes_fts, rank) VALUES ('secure-delete', 1);
