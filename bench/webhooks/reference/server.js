// Reference receiver, written the way Askara's integration guide shows it: Express, answer
// 200 first, then process the events and save each note (here into SQLite with
// better-sqlite3, one INSERT per note, deduplicated by uuid).
//
//   PORT=8091 DB=/tmp/ref.sqlite3 SYNC=full node server.js
//
// SYNC=full (default, SQLite's own default) flushes each insert to disk like the Rust
// receiver's queue write; SYNC=normal does not flush (faster, not durable on power loss).
// Note that, as in the guide, the 200 is sent before the note is stored: a crash right after
// the answer loses the delivery.
'use strict';
const express = require('express');
const Database = require('better-sqlite3');

const port = Number(process.env.PORT || 8091);
const db = new Database(process.env.DB || 'reference.sqlite3');
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${process.env.SYNC === 'normal' ? 'NORMAL' : 'FULL'}`);
db.exec(`CREATE TABLE IF NOT EXISTS notes (
  uuid TEXT PRIMARY KEY,
  content TEXT,
  patient_uuid TEXT,
  created_at TEXT
)`);
const insert = db.prepare(
  'INSERT OR IGNORE INTO notes (uuid, content, patient_uuid, created_at) VALUES (?, ?, ?, ?)'
);

async function saveToSystem(note) {
  insert.run(note.uuid, note.content, note.patientUuid ?? null, note.createdAt);
}

const app = express();
app.use(express.json({ limit: '2mb' }));

app.post('/api/askara/webhook', async (req, res) => {
  // Respond quickly to avoid timeout
  res.status(200).send('OK');
  const events = req.body.events;
  // Process asynchronously
  for (const event of events) {
    if (event.action === 'new_note') {
      const note = event.metadata.note;
      try {
        // Import note to your system
        await saveToSystem({
          uuid: note.uuid,
          content: note.content,
          patientUuid: note.patient?.uuid,
          createdAt: note.createdAt,
        });
      } catch (error) {
        console.error(`Failed to import note ${note.uuid}:`, error.message);
      }
    }
  }
});

app.get('/count', (req, res) => {
  res.json({ notes: db.prepare('SELECT COUNT(*) AS n FROM notes').get().n });
});

app.listen(port, '127.0.0.1', () => {
  console.log(`reference receiver listening on http://127.0.0.1:${port}`);
});
