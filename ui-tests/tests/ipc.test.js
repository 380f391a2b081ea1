import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';

// ui/ipc.js takes hold of window.__TAURI_INTERNALS__ when it loads, so the mock must exist
// first. mockIPC fills in that same object again for each test, which the module keeps.
mockIPC(() => {});
const { ipc, listen } = await import('../../ui/ipc.js');

/** @type {import('vitest').Mock} */
let handler;

beforeEach(() => {
  clearMocks();
  handler = vi.fn(() => null);
  // shouldMockEvents: Tauri's mock keeps the listeners, so `emit` reaches them.
  mockIPC((cmd, args) => handler(cmd, args), { shouldMockEvents: true });
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
  ['saveSettings', [settings, 'secret'], 'save_settings', { settings, password: 'secret' }],
  ['saveSettings', [settings, null], 'save_settings', { settings, password: null }],
  ['testConnection', [settings, null], 'test_connection', { settings, password: null }],
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

describe('listen', () => {
  test('registers through plugin:event|listen and delivers payloads', async () => {
    const got = vi.fn();
    const unlisten = await listen('notes-changed', got);
    expect(internals().invoke).toHaveBeenCalledWith('plugin:event|listen', {
      event: 'notes-changed',
      target: { kind: 'Any' },
      handler: expect.any(Number),
    });
    // The handler id names a callback registered with the bridge.
    const id = internals().invoke.mock.calls[0][1].handler;
    expect(internals().callbacks.has(id)).toBe(true);

    await emit('notes-changed', { reason: 'sync' });
    await emit('sync-status', { syncing: true }); // another event: not delivered
    expect(got).toHaveBeenCalledTimes(1);
    expect(got).toHaveBeenCalledWith({ reason: 'sync' }); // the payload, not the envelope
  });

  test('unsubscribing calls plugin:event|unlisten with the event id, and stops delivery', async () => {
    const got = vi.fn();
    const unlisten = await listen('import-result', got);
    const eventId = await internals().invoke.mock.results[0].value;
    await unlisten();
    expect(internals().invoke).toHaveBeenLastCalledWith('plugin:event|unlisten', {
      event: 'import-result',
      eventId,
    });
    await emit('import-result', { uuid: 'n-1' });
    expect(got).not.toHaveBeenCalled();
  });

  test('a refused listen rejects as a CmdError', async () => {
    clearMocks();
    mockIPC(() => {
      throw 'event.listen not allowed';
    });
    await expect(listen('sign-in', () => {})).rejects.toEqual({
      code: 'internal',
      message: 'event.listen not allowed',
    });
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

  test('event listening is allowed', () => {
    expect(capability.permissions).toEqual(
      expect.arrayContaining(['core:event:allow-listen', 'core:event:allow-unlisten']),
    );
  });
});
