import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';

// ui/ipc.js takes hold of window.__TAURI_INTERNALS__ when it loads, so the mock must exist
// first. mockIPC fills in that same object again for each test, which the module keeps.
mockIPC(() => {});
const { ipc, listen, startEvents } = await import('../../ui/ipc.js');

/** @type {import('vitest').Mock} */
let handler;

beforeEach(() => {
  clearMocks();
  handler = vi.fn(() => null);
  mockIPC((cmd, args) => handler(cmd, args));
  vi.spyOn(/** @type {any} */ (window).__TAURI_INTERNALS__, 'invoke');
});

const internals = () => /** @type {any} */ (window).__TAURI_INTERNALS__;

const settings = {
  baseUrl: 'https://askara.example',
  clientId: 'inbox',
  tokenUrl: 'https://askara.example/token',
  deviceUrl: 'https://askara.example/device',
  scopes: ['notes.read'],
  intervalSecs: 300,
  importTarget: 'csv',
  mappingFile: '',
};

/** [method, arguments, Tauri command, payload it must send] */
const CASES = /** @type {const} */ ([
  ['appInfo', [], 'app_info', {}],
  ['status', [], 'status', {}],
  [
    'listNotes',
    [{ status: 'new', patient: 'p-1', offset: 200, limit: 100 }],
    'list_notes',
    { status: 'new', patient: 'p-1', offset: 200, limit: 100 },
  ],
  [
    'searchNotes',
    [{ text: 'knee', status: null, patient: null, limit: 500 }],
    'search_notes',
    { text: 'knee', status: null, patient: null, limit: 500 },
  ],
  ['getNote', ['n-1'], 'get_note', { uuid: 'n-1', query: null }],
  ['getNote', ['n-1', 'knee'], 'get_note', { uuid: 'n-1', query: 'knee' }],
  ['noteVersions', ['n-1'], 'note_versions', { uuid: 'n-1' }],
  ['noteHistory', ['n-1'], 'note_history', { uuid: 'n-1' }],
  ['counts', [], 'counts', {}],
  ['patients', ['jan', 20], 'patients', { text: 'jan', limit: 20 }],
  ['patients', [null, 20], 'patients', { text: null, limit: 20 }],
  ['setStatus', ['n-1', 'dismissed'], 'set_status', { uuid: 'n-1', status: 'dismissed' }],
  ['importNote', ['n-1', true], 'import_note', { uuid: 'n-1', allowUpdate: true }],
  ['importNote', ['n-2', false], 'import_note', { uuid: 'n-2', allowUpdate: false }],
  [
    'listNotes',
    [{ status: null, patient: null, filter: { since: '2026-03-01', until: null, noteType: 'referral_letter', author: null }, offset: 0, limit: 100 }],
    'list_notes',
    { status: null, patient: null, filter: { since: '2026-03-01', until: null, noteType: 'referral_letter', author: null }, offset: 0, limit: 100 },
  ],
  [
    'searchNotes',
    [{ text: 'knee', status: 'new', patient: null, filter: { since: null, until: '2026-03-02', noteType: null, author: 'user-7' }, limit: 200 }],
    'search_notes',
    { text: 'knee', status: 'new', patient: null, filter: { since: null, until: '2026-03-02', noteType: null, author: 'user-7' }, limit: 200 },
  ],
  ['noteFacets', [], 'note_facets', {}],
  ['setStatuses', [['n-1', 'n-2'], 'reviewed'], 'set_statuses', { uuids: ['n-1', 'n-2'], status: 'reviewed' }],
  ['importNotes', [['n-1', 'n-2']], 'import_notes', { uuids: ['n-1', 'n-2'] }],
  ['signInStart', [], 'sign_in_start', {}],
  ['signInCancel', [], 'sign_in_cancel', {}],
  ['openVerification', [], 'open_verification', {}],
  ['signOut', [true], 'sign_out', { erase: true }],
  ['syncNow', [], 'sync_now', {}],
  ['getSettings', [], 'get_settings', {}],
  ['saveSettings', [settings, 'secret'], 'save_settings', { settings, password: 'secret', inboxPassword: null }],
  ['saveSettings', [settings, null], 'save_settings', { settings, password: null, inboxPassword: null }],
  ['saveSettings', [settings, null, 'pg-pw'], 'save_settings', { settings, password: null, inboxPassword: 'pg-pw' }],
  ['testConnection', [settings, null], 'test_connection', { settings, password: null }],
  [
    'testInboxConnection',
    ['postgres://reception@db.clinic.example/askara', null],
    'test_inbox_connection',
    { url: 'postgres://reception@db.clinic.example/askara', password: null },
  ],
  ['startDemo', [], 'start_demo', {}],
  ['lockState', [], 'lock_state', {}],
  ['lockNow', [], 'lock_now', {}],
  ['unlock', ['4827'], 'unlock', { pin: '4827' }],
  ['setPin', ['4827'], 'set_pin', { pin: '4827' }],
  ['touch', [], 'touch', {}],
  ['searchPracticePatients', ['haugen'], 'search_practice_patients', { text: 'haugen' }],
  ['assignPatient', ['n-1', '42', 'haugen'], 'assign_patient', { uuid: 'n-1', patientId: '42', search: 'haugen' }],
  ['unassignPatient', ['n-1'], 'unassign_patient', { uuid: 'n-1' }],
]);

describe('commands', () => {
  test.each(CASES)('%s(%j) invokes %s', async (method, args, cmd, payload) => {
    handler.mockReturnValue({ answer: method });
    const result = await /** @type {any} */ (ipc)[method](...args);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith(cmd, payload);
    // Exactly these keys: Tauri matches arguments by name.
    expect(Object.keys(handler.mock.calls[0][1]).sort()).toEqual(Object.keys(payload).sort());
    expect(result).toEqual({ answer: method });
  });

  test('every method of ipc is covered above', () => {
    expect(Object.keys(ipc).sort()).toEqual([...new Set(CASES.map((c) => c[0]))].sort());
  });

  test('a command that resolves asynchronously resolves to its value', async () => {
    handler.mockImplementation(async () => [{ uuid: 'n-1' }]);
    await expect(ipc.noteVersions('n-1')).resolves.toEqual([{ uuid: 'n-1' }]);
  });
});

describe('errors', () => {
  test('a {code, message} rejection comes back as that object', async () => {
    const err = { code: 'not_found', message: 'no such note' };
    handler.mockImplementation(() => {
      throw err;
    });
    await expect(ipc.getNote('gone')).rejects.toBe(err);
  });

  test('a string rejection becomes {code: "internal", message}', async () => {
    handler.mockImplementation(() => Promise.reject('command get_note not found'));
    await expect(ipc.getNote('x')).rejects.toEqual({
      code: 'internal',
      message: 'command get_note not found',
    });
  });

  test('anything else becomes an internal error with its text', async () => {
    handler.mockImplementation(() => {
      throw new Error('boom');
    });
    await expect(ipc.counts()).rejects.toEqual({ code: 'internal', message: 'Error: boom' });
    // An object without both fields is not a CmdError.
    handler.mockImplementation(() => {
      throw { code: 'x' };
    });
    await expect(ipc.counts()).rejects.toEqual({ code: 'internal', message: '[object Object]' });
  });
});

describe('events', () => {
  /**
   * `next_events` answering each of `answers` in turn (a value, or a function that throws),
   * then never again, as when nothing more happens.
   * @param {any[]} answers
   */
  function script(answers) {
    const asked = [];
    handler.mockImplementation((cmd, args) => {
      if (cmd !== 'next_events') return null;
      asked.push(args.after);
      const a = answers.shift();
      if (a === undefined) return new Promise(() => {});
      return typeof a === 'function' ? a() : a;
    });
    return asked;
  }
  const batch = (next, events, missed = false) => ({ next, missed, events });
  const settle = () => new Promise((r) => setTimeout(r, 0));

  test('start where Rust is, then hand each event to its handler in order', async () => {
    const asked = script([
      batch(7, []),
      batch(9, [
        { seq: 8, event: 'notes-changed', payload: { reason: 'sync' } },
        { seq: 9, event: 'import-result', payload: { uuid: 'n-1' } },
      ]),
      batch(10, [{ seq: 10, event: 'notes-changed', payload: { reason: 'status' } }]),
    ]);
    const got = [];
    listen('notes-changed', (p) => got.push(['changed', p.reason]));
    listen('import-result', (p) => got.push(['import', p.uuid]));
    const onMissed = vi.fn();
    const onError = vi.fn();
    await startEvents({ onMissed, onError });
    // Resolved once the start is known: null asks for it without waiting.
    expect(asked[0]).toBe(null);
    await settle();
    expect(got).toEqual([
      ['changed', 'sync'],
      ['import', 'n-1'],
      ['changed', 'status'],
    ]);
    // Each fetch continues after the last one's `next`.
    expect(asked).toEqual([null, 7, 9, 10]);
    expect(onMissed).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  test('dropped events make the page read everything again', async () => {
    script([batch(0, []), batch(300, [{ seq: 300, event: 'sync-status', payload: {} }], true)]);
    const onMissed = vi.fn();
    const status = vi.fn();
    listen('sync-status', status);
    await startEvents({ onMissed, onError: vi.fn() });
    await settle();
    expect(onMissed).toHaveBeenCalledTimes(1);
    expect(status).toHaveBeenCalledTimes(1);
  });

  test('a failed fetch is reported and tried again from the same place', async () => {
    const asked = script([
      batch(3, []),
      () => {
        throw { code: 'internal', message: 'ipc gone' };
      },
      batch(4, [{ seq: 4, event: 'notes-changed', payload: { reason: 'sync' } }]),
    ]);
    const got = vi.fn();
    listen('notes-changed', got);
    const onError = vi.fn();
    await startEvents({ onMissed: vi.fn(), onError, pauseMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(onError).toHaveBeenCalledWith({ code: 'internal', message: 'ipc gone' });
    expect(asked.slice(0, 3)).toEqual([null, 3, 3]);
    expect(got).toHaveBeenCalledWith({ reason: 'sync' });
  });

  test('a failing handler is reported and later events still arrive', async () => {
    script([
      batch(0, []),
      batch(2, [
        { seq: 1, event: 'lock-state', payload: { locked: true } },
        { seq: 2, event: 'sign-in', payload: { state: 'signed_in' } },
      ]),
    ]);
    listen('lock-state', () => {
      throw new Error('boom');
    });
    const signIn = vi.fn();
    listen('sign-in', signIn);
    const onError = vi.fn();
    await startEvents({ onMissed: vi.fn(), onError });
    await settle();
    expect(onError).toHaveBeenCalledWith({ code: 'internal', message: 'Error: boom' });
    expect(signIn).toHaveBeenCalledWith({ state: 'signed_in' });
  });
});

// The UI and the Rust side must agree by name. These read the Rust sources (nothing is built):
// each command ipc.js calls must be registered, allowed by the window's capability, and sent
// exactly the parameters its Rust function takes (camelCase, as Tauri expects by default).
describe('contract with src-tauri', () => {
  // Plain paths: under happy-dom the global URL is the DOM's, which node:fs does not take.
  const root = join(dirname(fileURLToPath(import.meta.url)), '../../src-tauri');
  const commandsRs = readFileSync(join(root, 'src/commands.rs'), 'utf8');
  const libRs = readFileSync(join(root, 'src/lib.rs'), 'utf8');
  const capability = JSON.parse(readFileSync(join(root, 'capabilities/main.json'), 'utf8'));

  /** @type {Map<string, {name: string, required: boolean}[]>} */
  const rust = new Map();
  for (const m of commandsRs.matchAll(
    /#\[tauri::command\][^]*?\bfn\s+(\w+)\s*(?:<[^>]*>)?\s*\(([^)]*)\)/g,
  )) {
    const params = [];
    let depth = 0;
    let cur = '';
    for (const ch of m[2] + ',') {
      if (ch === '<') depth++;
      if (ch === '>') depth--;
      if (ch === ',' && depth === 0) {
        if (cur.trim()) params.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
    const args = params
      .map((p) => {
        const [name, ...type] = p.split(':');
        return { name: name.trim(), type: type.join(':').trim() };
      })
      // Injected by Tauri, not sent by the UI.
      .filter((p) => !/^(CoreState|State|tauri::(AppHandle|Window|WebviewWindow|Webview))\b/.test(p.type))
      .map((p) => ({
        name: p.name.replace(/_([a-z])/g, (_, c) => c.toUpperCase()),
        required: !p.type.startsWith('Option<'),
      }));
    rust.set(m[1], args);
  }
  const registered = new Set(
    [...(libRs.match(/generate_handler!\[([^\]]*)\]/)?.[1] ?? '').matchAll(/(\w+)\s*(?:,|$)/g)].map((m) => m[1]),
  );

  test('the sources parse', () => {
    expect(rust.size).toBeGreaterThanOrEqual(19);
    expect(registered.size).toBe(rust.size);
  });

  test.each(CASES)('%s(%j): %s is registered, allowed and takes %j', (_method, _args, cmd, payload) => {
    expect(rust.has(cmd), `${cmd} is a #[tauri::command] in commands.rs`).toBe(true);
    expect(registered.has(cmd), `${cmd} is in generate_handler!`).toBe(true);
    expect(capability.permissions).toContain(`allow-${cmd.replaceAll('_', '-')}`);
    const params = rust.get(cmd) ?? [];
    const names = params.map((p) => p.name);
    for (const key of Object.keys(payload)) expect(names, `${cmd} takes ${key}`).toContain(key);
    for (const p of params.filter((p) => p.required)) {
      expect(Object.keys(payload), `${cmd} needs ${p.name}`).toContain(p.name);
    }
  });

  test('events come through next_events, not Tauri\'s listen', () => {
    expect(rust.get('next_events')).toEqual([{ name: 'after', required: false }]);
    expect(registered.has('next_events')).toBe(true);
    expect(capability.permissions).toContain('allow-next-events');
    // Nothing may subscribe to Tauri's emit: each event would be a script run in the page.
    expect(capability.permissions.filter((p) => p.startsWith('core:event'))).toEqual([]);
  });
});
