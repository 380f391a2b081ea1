-- Clinic inbox schema, version 4: the author-only view as policies for its role only.
--
-- In version 2 every role's queries carried the policy's condition. Policy conditions are a
-- security barrier and the search's `@@` is not leakproof, so PostgreSQL could not use the
-- GIN index under them: a desk's search read tens of thousands of rows (0.5 s at 100,000 notes)
-- and counts() scanned them all. Now everyone sees every row by a `true` policy (which the
-- planner drops), and a restrictive policy applies to askara_inbox_author_only alone (a member
-- inherits it, PostgreSQL's default for a grant).
DROP POLICY notes_visible ON notes;
CREATE POLICY notes_visible ON notes USING (true);
CREATE POLICY notes_own_only ON notes AS RESTRICTIVE TO askara_inbox_author_only
    USING (author_user_id IN (SELECT askara_user_id FROM clinician_authors
                               WHERE staff_role = current_user));

DROP POLICY note_versions_visible ON note_versions;
CREATE POLICY note_versions_visible ON note_versions USING (true);
CREATE POLICY note_versions_own_only ON note_versions AS RESTRICTIVE TO askara_inbox_author_only
    USING (EXISTS (SELECT 1 FROM notes n WHERE n.uuid = note_versions.note_uuid));

DROP POLICY patients_visible ON patients;
CREATE POLICY patients_visible ON patients USING (true);
CREATE POLICY patients_own_only ON patients AS RESTRICTIVE TO askara_inbox_author_only
    USING (EXISTS (SELECT 1 FROM notes n WHERE n.patient_uuid = patients.uuid));
