import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';

// ui/ipc.js takes hold of window.__TAURI_INTERNALS__ when it loads: mock it first.
mockIPC(() => {});
const { idleWords, noteActivity, renderLock, resetLockScreen } = await import('../../ui/lock.js');
const { state } = await import('../../ui/state.js');
const { VirtualList } = await import('../../ui/list.js');

/** @type {import('vitest').Mock} */
let handler;

beforeEach(() => {
  clearMocks();
  handler = vi.fn(() => null);
  mockIPC((cmd, args) => handler(cmd, args));
});

/** @returns {import('../../ui/ipc.js').LockView} */
const view = (over = {}) => ({
  locked: true,
  pinSet: true,
  failedTries: 0,
  triesLeft: 5,
  signInRequired: false,
  idleSecs: 600,
  setByPolicy: false,
  problem: null,
  ...over,
});

/** The lock screen of ui/index.html, as it ships. */
function lockScreen() {
  const html = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../ui/index.html'), 'utf8');
  const section = html.match(/<section id="lock"[^]*?<\/section>/)?.[0];
  if (!section) throw new Error('no #lock section in index.html');
  document.body.innerHTML = section;
}

const text = (/** @type {string} */ id) => document.getElementById(id)?.textContent ?? '';
const hidden = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id)).hidden;

test('the idle time in words', () => {
  expect(idleWords(600)).toBe('10 minutes');
  expect(idleWords(60)).toBe('1 minute');
  expect(idleWords(8)).toBe('8 seconds');
  expect(idleWords(90)).toBe('90 seconds');
});

describe('activity reports', () => {
  test('at most once per quarter of the idle time, never while locked or before the lock is known', () => {
    state.lock = null;
    noteActivity(1_000_000);
    expect(handler).not.toHaveBeenCalled();
    state.lock = view({ locked: false, idleSecs: 8 }); // a quarter: 2 s
    noteActivity(2_000_000);
    noteActivity(2_001_000);
    noteActivity(2_001_999);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith('touch', {});
    noteActivity(2_002_000);
    expect(handler).toHaveBeenCalledTimes(2);
    state.lock = view({ locked: true, idleSecs: 8 });
    noteActivity(3_000_000);
    expect(handler).toHaveBeenCalledTimes(2);
  });

  test('at least every 15 s with a long idle time', () => {
    state.lock = view({ locked: false, idleSecs: 3600 });
    noteActivity(5_000_000);
    noteActivity(5_014_999);
    noteActivity(5_015_000);
    expect(handler).toHaveBeenCalledTimes(2);
  });
});

describe('the lock screen', () => {
  test('with a PIN: the field, and the wrong tries counted', () => {
    lockScreen();
    renderLock(view());
    expect(hidden('lock-pin-wrap')).toBe(false);
    expect(hidden('lock-tries')).toBe(true);
    expect(text('lock-why')).toContain('10 minutes');
    renderLock(view({ failedTries: 2, triesLeft: 3 }));
    expect(hidden('lock-tries')).toBe(false);
    expect(text('lock-tries')).toBe('2 wrong tries: 3 left before only a full Askara sign-in unlocks.');
    expect(/** @type {HTMLElement} */ (document.getElementById('lock')).dataset.failedTries).toBe('2');
  });

  test('without a PIN, or after too many tries, only the sign-in', () => {
    lockScreen();
    renderLock(view({ pinSet: false }));
    expect(hidden('lock-pin-wrap')).toBe(true);
    expect(text('lock-message')).toContain('No unlock PIN is set');
    renderLock(view({ pinSet: false, failedTries: 5, triesLeft: 0, signInRequired: true }));
    expect(hidden('lock-pin-wrap')).toBe(true);
    expect(text('lock-message')).toContain('Too many wrong PINs');
    resetLockScreen();
    expect(hidden('lock-message')).toBe(true);
  });
});

test('clearing the list removes every row from the page and drops pages still on their way', async () => {
  document.body.innerHTML = '<div id="list"><div id="list-spacer"></div></div>';
  const el = /** @type {HTMLElement} */ (document.getElementById('list'));
  const spacer = /** @type {HTMLElement} */ (document.getElementById('list-spacer'));
  Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => 400 });
  const renderRow = (/** @type {HTMLElement} */ r, /** @type {any} */ row) => {
    r.textContent = row ? `Secret, Patient ${row.uuid}` : '…';
  };
  const list = new VirtualList(el, spacer, renderRow, () => {});
  const rows = Array.from({ length: 300 }, (_, i) => ({ uuid: `n${i}` }));
  /** @type {((v: any) => void)[]} */
  const later = [];
  let first = true;
  const page = (/** @type {number} */ offset) => {
    if (first) {
      first = false;
      return Promise.resolve(rows.slice(offset, offset + 100));
    }
    return new Promise((resolve) => later.push(() => resolve(rows.slice(offset, offset + 100))));
  };
  await list.setSource(/** @type {any} */ ({ key: 'list|null', total: () => 300, page }));
  expect(el.textContent).toContain('Secret, Patient n0');
  el.scrollTop = 8000; // page 2 is asked for, and held back
  list.render();
  list.clear();
  for (const resolve of later) resolve(undefined);
  await new Promise((r) => setTimeout(r, 0));
  list.render();
  expect(el.textContent).toBe('');
  expect(el.children.length).toBe(1); // the spacer alone
  expect(spacer.style.height).toBe('0px');
  expect(list.selectedUuid).toBe(null);
});
