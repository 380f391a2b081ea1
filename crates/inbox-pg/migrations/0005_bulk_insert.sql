-- Clinic inbox schema, version 5: a catch-up page of new notes written as one statement is
-- announced by one trigger call (a NOTIFY per note still, with its uuid), not a trigger call per
-- row; note text is compressed with lz4 where the server has it (faster than pglz); and the
-- poller may merge the search index's pending list (new entries not yet in the index proper,
-- which every search reads in full: when full, 4 MB, a name search's p95 was 31 ms instead of
-- 10). A smaller list would slow the catch-up (1 MB: 1,185 notes/s instead of 2,285).
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

-- Needs the index owner's right, hence SECURITY DEFINER; granted to the poller by init. Every
-- name qualified and pg_temp last, so no object a caller creates can stand in for one.
CREATE FUNCTION merge_search_pending() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pg_catalog.gin_clean_pending_list(
              'askara_inbox.notes_search'::pg_catalog.regclass) $$;
REVOKE ALL ON FUNCTION merge_search_pending() FROM PUBLIC;

DO $$
BEGIN
    EXECUTE 'ALTER TABLE notes ALTER COLUMN content SET COMPRESSION lz4,
                               ALTER COLUMN raw SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE note_versions ALTER COLUMN content SET COMPRESSION lz4,
                                       ALTER COLUMN raw SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available on this server: note text stays compressed with pglz';
END $$;
