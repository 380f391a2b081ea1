-- Clinic inbox schema, version 5: a catch-up page of new notes written as one statement is
-- announced by one trigger call (a NOTIFY per note still, with its uuid), not a trigger call per
-- row; and note text is compressed with lz4 where the server has it (faster than pglz).
DROP TRIGGER notes_changed ON notes;
CREATE FUNCTION notify_notes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('askara_inbox_changed', uuid) FROM inserted;
    RETURN NULL;
END $$;
CREATE TRIGGER notes_inserted AFTER INSERT ON notes REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION notify_notes_inserted();
CREATE TRIGGER notes_changed AFTER UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION notify_note_changed();

DO $$
BEGIN
    EXECUTE 'ALTER TABLE notes ALTER COLUMN content SET COMPRESSION lz4,
                               ALTER COLUMN raw SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE note_versions ALTER COLUMN content SET COMPRESSION lz4,
                                       ALTER COLUMN raw SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available on this server: note text stays compressed with pglz';
END $$;
