import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';

// ui/ipc.js takes hold of window.__TAURI_INTERNALS__ when it loads: mock it first.
mockIPC(() => {});
const reading = await import('../../ui/reading.js');
const { renderHistory, toggleHistory } = await import('../../ui/history.js');
const { state } = await import('../../ui/state.js');
const { fmtDateTime } = await import('../../ui/format.js');

/** @typedef {import('../../ui/ipc.js').NoteView} NoteView */

/** @type {import('vitest').Mock} */
let handler;

/** The note pane and the print area of ui/index.html, as they ship. */
function pane() {
  const html = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../ui/index.html'), 'utf8');
  const article = html.match(/<article id="note"[^]*?<\/article>/)?.[0];
  const print = html.match(/<div id="print-area"[^]*?<\/table>\s*<\/div>/)?.[0];
  if (!article || !print) throw new Error('no #note or #print-area in index.html');
  document.body.innerHTML = article + print;
}

/** @returns {NoteView} */
const note = (over = {}) => ({
  uuid: 'n-1',
  patientName: 'Ødegård, Bjørn',
  patientUuid: 'p-1',
  patientExternalId: '4411',
  patientDateOfBirth: '1984-03-02',
  patientIdentifiers: 'born 1984-03-02 · ID 4411',
  noteType: 'consultation_summary',
  typeLabel: 'Consultation summary',
  content: '# Plan\n\n**Rest** <img src=x onerror="window.__pwned=1">',
  createdAt: '2026-02-24T10:30:00Z',
  updatedAt: '2026-02-24T10:30:00Z',
  status: 'new',
  verified: true,
  authorUserId: null,
  versions: 0,
  lastImport: null,
  text: [
    { kind: 'heading', level: 1, inlines: [{ kind: 'text', text: 'Plan' }] },
    {
      kind: 'paragraph',
      inlines: [
        { kind: 'strong', inlines: [{ kind: 'text', text: 'Rest' }] },
        { kind: 'text', text: ' <img src=x onerror="window.__pwned=1">' },
      ],
    },
  ],
  provenance: {
    author: { uuid: 'u-7', name: 'Amélie Rousseau', email: null },
    recording: { uuid: 'a-1', recordedAt: '2026-02-24T10:28:20Z', durationSecs: 95 },
    arrivedAt: '2026-02-24T10:31:00Z',
    arrival: 'poll',
    verified: true,
  },
  ...over,
});

const text = (/** @type {string} */ id) => document.getElementById(id)?.textContent ?? '';
const hidden = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id)).hidden;

beforeEach(() => {
  clearMocks();
  handler = vi.fn(() => null);
  mockIPC((cmd, args) => handler(cmd, args));
  pane();
  state.note = null;
  state.lock = null;
});

describe('provenance', () => {
  test('what Askara and the delivery said, in words', () => {
    const n = note();
    expect(reading.provenanceText(n)).toEqual({
      author: 'Amélie Rousseau',
      recording: `${fmtDateTime('2026-02-24T10:28:20Z')} · 1 min 35 s`,
      written: `created in Askara ${fmtDateTime('2026-02-24T10:30:00Z')} · not revised since`,
      source: `polled from Askara, ${fmtDateTime('2026-02-24T10:31:00Z')} · verified with Askara`,
    });
    expect(reading.authorLine(n)).toBe(' · recorded by Amélie Rousseau');
  });

  test('nothing guessed: what nobody gave is "not given"; an id alone is said as an id', () => {
    const bare = note({
      updatedAt: '2026-02-24T12:00:00Z',
      provenance: { author: null, recording: null, arrivedAt: '2026-02-24T12:01:00Z', arrival: 'webhook', verified: false },
    });
    const t = reading.provenanceText(bare);
    expect([t.author, t.recording]).toEqual(['not given', 'not given']);
    expect(t.written).toContain(`last revised ${fmtDateTime('2026-02-24T12:00:00Z')}`);
    expect(t.source).toBe(`webhook from Askara, ${fmtDateTime('2026-02-24T12:01:00Z')} · unverified: stored as delivered`);
    expect(reading.authorLine(bare)).toBe('');
    const idOnly = note({ authorUserId: 'u-dictating', provenance: { ...note().provenance, author: { uuid: 'u-dictating', name: null, email: null }, recording: { uuid: 'a', recordedAt: null, durationSecs: 12 } } });
    expect(reading.provenanceText(idOnly).author).toBe('Askara user u-dictating');
    expect(reading.provenanceText(idOnly).recording).toBe('12 s');
    expect(reading.authorLine(idOnly)).toBe(' · recorded by Askara user u-dictating');
  });

  test('durations', () => {
    expect(['0 s', '59 s', '1 min', '1 min 35 s', '1 h', '1 h 2 min'].join()).toBe(
      [0, 59, 60, 95, 3600, 3725].map(reading.fmtDuration).join(),
    );
  });
});

describe('the note as formatted text or as sent', () => {
  test('formatted by default, the plain text a click away, and the page drawn only from text', () => {
    const n = note();
    state.note = n;
    document.getElementById('note-content').textContent = n.content;
    reading.showReading(n, true);
    expect(hidden('note-text')).toBe(false);
    expect(hidden('note-content')).toBe(true);
    expect(text('note-text')).toBe('PlanRest <img src=x onerror="window.__pwned=1">');
    expect(document.querySelector('#note-text h3')?.textContent).toBe('Plan');
    expect(document.querySelector('#note-text strong')?.textContent).toBe('Rest');
    expect(document.querySelectorAll('img').length).toBe(0);
    expect(text('prov-author')).toBe('Amélie Rousseau');
    expect(text('note-author')).toBe(' · recorded by Amélie Rousseau');
    expect(reading.noteBody().id).toBe('note-text');

    reading.togglePlain();
    expect(hidden('note-text')).toBe(true);
    expect(hidden('note-content')).toBe(false);
    expect(text('btn-plain')).toBe('Formatted');
    expect(reading.noteBody().id).toBe('note-content');
    // The choice stays for the next note.
    reading.showReading(note({ uuid: 'n-2' }), true);
    expect(hidden('note-content')).toBe(false);
    reading.togglePlain();
    expect(hidden('note-text')).toBe(false);
  });

  test('"Copy as plain text" copies the content exactly as Askara sent it', async () => {
    const n = note();
    state.note = n;
    const writeText = vi.fn(async (/** @type {string} */ _text) => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await reading.copyPlain();
    expect(writeText).toHaveBeenCalledWith(n.content);
    expect(text('btn-copy')).toBe('Copied ✓');
    // Refused: the copy command is tried instead, and a failure of both is said.
    const execCommand = vi.fn(() => false);
    Object.defineProperty(document, 'execCommand', { value: execCommand, configurable: true });
    writeText.mockRejectedValueOnce(new Error('denied'));
    await expect(reading.copyPlain()).rejects.toEqual({ code: 'clipboard', message: 'The note could not be copied: denied' });
    expect(execCommand).toHaveBeenCalledWith('copy');
    expect(document.querySelector('textarea')).toBe(null); // the text field is gone
    execCommand.mockReturnValueOnce(true);
    writeText.mockRejectedValueOnce(new Error('denied'));
    await expect(reading.copyPlain()).resolves.toBe(undefined);
    expect(document.querySelector('textarea')).toBe(null);
  });

  test('Print prints the note with the patient and identifiers in the header, then empties it', () => {
    const n = note();
    state.note = n;
    reading.showReading(n, true);
    /** @type {string[]} */
    const printed = [];
    const print = window.print;
    window.print = () => {
      printed.push(text('print-header'), text('print-body'));
    };
    try {
      reading.printNote();
    } finally {
      window.print = print;
    }
    expect(printed[0]).toContain('Ødegård, Bjørn');
    expect(printed[0]).toContain('born 1984-03-02 · ID 4411');
    expect(printed[0]).toContain('Askara patient p-1');
    expect(printed[1]).toContain('PlanRest <img');
    expect(document.querySelector('#print-body h3')?.textContent).toBe('Plan');
    expect(document.querySelectorAll('#print-area img, #print-area [id="note-text"]').length).toBe(0);
    reading.clearPrint(); // what `afterprint` runs
    expect(text('print-header')).toBe('');
    expect(text('print-body')).toBe('');
  });

  test('a patient without identifiers says so in the print header', () => {
    const n = note({ patientExternalId: null, patientDateOfBirth: null, patientIdentifiers: '', patientUuid: null, patientName: 'No patient' });
    state.note = n;
    reading.fillPrint(n);
    expect(text('print-ids')).toBe('No patient identifier given');
  });

  test('clearReading leaves nothing of the note behind', () => {
    const n = note();
    state.note = n;
    reading.showReading(n, true);
    reading.fillPrint(n);
    reading.clearReading();
    for (const id of ['note-text', 'prov-author', 'prov-recording', 'prov-written', 'prov-source', 'print-body', 'print-header', 'history-list']) {
      expect(text(id)).toBe('');
    }
  });
});

describe('history', () => {
  const steps = [
    { at: '2026-02-24T10:31:00Z', actor: 'sync', actorLabel: 'Askara Inbox (sync)', action: 'received', words: 'arrived (polled from Askara)' },
    { at: '2026-02-24T10:40:00Z', actor: 'askara:ingrid@example.test', actorLabel: 'ingrid@example.test', action: 'status_changed', words: 'reviewed' },
  ];

  test('each step: local time, who, what (as text)', () => {
    const ol = document.createElement('ol');
    renderHistory(ol, [...steps, { ...steps[1], words: '<img src=x onerror="window.__pwned=1">' }]);
    const rows = [...ol.children].map((li) => [...li.children].map((c) => c.textContent));
    // Local time (Amsterdam in these tests: UTC+1), to the second.
    expect(rows).toEqual([
      ['24/02/2026, 11:31:00', 'Askara Inbox (sync)', 'arrived (polled from Askara)'],
      ['24/02/2026, 11:40:00', 'ingrid@example.test', 'reviewed'],
      ['24/02/2026, 11:40:00', 'ingrid@example.test', '<img src=x onerror="window.__pwned=1">'],
    ]);
    expect(ol.querySelectorAll('img').length).toBe(0);
    expect(/** @type {HTMLElement} */ (ol.children[1].children[1]).title).toBe('askara:ingrid@example.test');
  });

  test('the History button asks for the open note\'s trail, and the section follows the note', async () => {
    handler.mockImplementation((cmd) => (cmd === 'note_history' ? steps : null));
    const n = note();
    state.note = n;
    await toggleHistory();
    expect(handler).toHaveBeenCalledWith('note_history', { uuid: 'n-1' });
    expect(hidden('history')).toBe(false);
    expect([...document.querySelectorAll('#history-list .what')].map((e) => e.textContent)).toEqual([
      'arrived (polled from Askara)',
      'reviewed',
    ]);
    // The open note reloads (its status changed): the trail is asked for again.
    reading.showReading(n, false);
    await vi.waitFor(() => expect(handler).toHaveBeenCalledTimes(2));
    await toggleHistory();
    expect(hidden('history')).toBe(true);
    expect(text('history-list')).toBe('');
  });

  test('locked: the refusal draws nothing; another error is said in the section', async () => {
    handler.mockImplementation(() => {
      throw { code: 'locked', message: 'locked' };
    });
    state.note = note();
    await toggleHistory();
    expect(hidden('history-error')).toBe(true);
    handler.mockImplementation(() => {
      throw { code: 'not_found', message: 'no note n-1 in the inbox' };
    });
    await toggleHistory();
    await toggleHistory();
    expect(hidden('history-error')).toBe(false);
    expect(text('history-error')).toBe('The history cannot be read: no note n-1 in the inbox');
  });
});
