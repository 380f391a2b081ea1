-- Clinic inbox schema, version 2: optionally, clinicians see only the notes they recorded.
--
-- Off by default. A staff role granted askara_inbox_author_only sees (and can review) only
-- notes whose author (the Askara user who recorded it, author_user_id) is mapped to that role
-- in clinician_authors; everyone else (reception, the clinic server) sees every note. Row-level
-- security does the hiding, in the database, so no desk can skip it. A note whose author is
-- unknown (polled notes carry none; webhook deliveries name it) is hidden from such a role.
--
--   GRANT askara_inbox_author_only TO dr_lund;
--   INSERT INTO askara_inbox.clinician_authors (staff_role, askara_user_id)
--       VALUES ('dr_lund', '<her Askara user uuid>');

CREATE TABLE clinician_authors (
    staff_role    text NOT NULL,
    askara_user_id text NOT NULL,
    PRIMARY KEY (staff_role, askara_user_id)
);

-- Whether the connected role is limited to its own notes (a member of the group role, made by
-- init; NOLOGIN, nobody in it until IT grants it).
CREATE FUNCTION limited_to_own_notes() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'askara_inbox_author_only')
                THEN pg_has_role(current_user, 'askara_inbox_author_only', 'MEMBER')
                ELSE false END
$$;

-- `(SELECT …)` around the role check makes it one InitPlan per statement instead of a call
-- per row (a count over 100,000 notes took 0.6 s with the call per row).
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_visible ON notes
    USING ((SELECT NOT limited_to_own_notes())
           OR author_user_id IN (SELECT askara_user_id FROM clinician_authors
                                  WHERE staff_role = current_user));

-- What would show a hidden note's text or patient: its versions and its patient.
ALTER TABLE note_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY note_versions_visible ON note_versions
    USING ((SELECT NOT limited_to_own_notes())
           OR EXISTS (SELECT 1 FROM notes n WHERE n.uuid = note_versions.note_uuid));
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
CREATE POLICY patients_visible ON patients
    USING ((SELECT NOT limited_to_own_notes())
           OR EXISTS (SELECT 1 FROM notes n WHERE n.patient_uuid = patients.uuid));
