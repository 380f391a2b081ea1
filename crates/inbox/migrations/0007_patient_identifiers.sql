-- Askara Inbox schema, version 7: two identifiers for every patient shown, and notes assigned
-- to a practice patient by hand.
--
-- patients: what GET /patients/{uuid} said (date of birth; external id and names too), when it
-- answered, and whether it should be asked (again) at the next poll: a patient not fetched yet,
-- or one whose note says something else than what is stored. fetch_tried_at orders retries so
-- one failing patient cannot starve the others.
ALTER TABLE patients ADD COLUMN date_of_birth TEXT;
ALTER TABLE patients ADD COLUMN fetched_at TEXT;
ALTER TABLE patients ADD COLUMN fetch_tried_at TEXT;
ALTER TABLE patients ADD COLUMN needs_fetch INTEGER NOT NULL DEFAULT 1;
CREATE INDEX patients_to_fetch ON patients (needs_fetch, fetch_tried_at);

-- The date of birth kept with the note (from the note itself, else from the patient resource),
-- beside patient_external_id, so a list row shows two identifiers without a join.
ALTER TABLE notes ADD COLUMN patient_date_of_birth TEXT;
-- 1: the note's last import found no (or several) patients in the practice database.
ALTER TABLE notes ADD COLUMN patient_unmatched INTEGER NOT NULL DEFAULT 0;
-- "Needs patient" (and its count, asked after every change) walks only the notes in it.
-- The same condition is written in src/patients.rs (NEEDS_PATIENT), so SQLite uses this index.
CREATE INDEX notes_needs_patient ON notes (id)
    WHERE status IN ('new', 'reviewed', 'revised')
      AND (has_patient = 0 OR patient_uuid IS NULL OR patient_first_name IS NULL
           OR patient_last_name IS NULL OR patient_unmatched = 1);

-- A note assigned by a person to a patient of the practice database ("Assign to patient…"),
-- with the identifiers that person was shown. Undo marks the row undone; nothing is deleted
-- (except with the note itself, by retention). At most one live assignment per note.
CREATE TABLE patient_assignments (
    id                  INTEGER PRIMARY KEY,
    note_uuid           TEXT    NOT NULL REFERENCES notes (uuid) ON DELETE CASCADE,
    practice_patient_id TEXT    NOT NULL,
    patient_name        TEXT,
    date_of_birth       TEXT,
    external_id         TEXT,
    target              TEXT    NOT NULL,
    assigned_by         TEXT    NOT NULL,
    assigned_at         TEXT    NOT NULL,
    undone_by           TEXT,
    undone_at           TEXT
);
CREATE UNIQUE INDEX patient_assignments_live ON patient_assignments (note_uuid)
    WHERE undone_at IS NULL;
CREATE INDEX patient_assignments_note ON patient_assignments (note_uuid, id);
