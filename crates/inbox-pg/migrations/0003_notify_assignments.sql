-- Clinic inbox schema, version 3: a patient assigned or unassigned at one desk shows on every
-- other desk at once, as review states do (NOTIFY with the note's uuid, sent at commit).
CREATE FUNCTION notify_assignment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('askara_inbox_changed', OLD.note_uuid);
    ELSE
        PERFORM pg_notify('askara_inbox_changed', NEW.note_uuid);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER patient_assignments_changed AFTER INSERT OR UPDATE OR DELETE
    ON patient_assignments FOR EACH ROW EXECUTE FUNCTION notify_assignment_changed();
