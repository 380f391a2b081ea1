// @ts-check
// The settings pane: Askara's addresses and sign-in method, the practice database (its
// password goes to the keyring), notifications; save, test the connections, sign out.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';
import { idleWords, openPinSetup } from './lock.js';

/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

/** What to redraw when the pane closes (app.js's screen switch). */
let afterClose = () => {};

/**
 * The settings as loaded: a setting this pane has no field for goes back as it was (and the
 * idle minutes as saved while IT's policy holds the field).
 * @type {import('./ipc.js').Settings|null}
 */
let loaded = null;


export async function openSettings() {
  const s = await ipc.getSettings();
  const f = /** @type {HTMLFormElement} */ ($('settings-form'));
  for (const [k, v] of Object.entries(s)) {
    const input = /** @type {HTMLInputElement|null} */ (f.elements.namedItem(k));
    if (input?.type === 'checkbox') input.checked = !!v;
    else if (input) input.value = Array.isArray(v) ? v.join(' ') : String(v ?? '');
  }
  /** @type {HTMLInputElement} */ (f.elements.namedItem('password')).value = '';
  loaded = s;
  // An IT policy file sets the idle lock: the field shows its value, read-only.
  const idle = /** @type {HTMLInputElement} */ (f.elements.namedItem('idleLockMinutes'));
  const lock = state.lock ?? (await ipc.lockState().catch(() => null));
  const policy = !!lock?.setByPolicy;
  idle.disabled = policy;
  idle.readOnly = policy;
  if (policy && lock) idle.value = String(Math.max(1, Math.ceil(lock.idleSecs / 60)));
  $('idle-policy').hidden = !policy;
  $('idle-policy').textContent = policy && lock
    ? `Set by your IT department (policy file): the inbox locks after ${idleWords(lock.idleSecs)} without activity.`
    : '';
  $('settings-result').hidden = true;
  $('btn-signout').hidden = !state.status?.signedIn;
  $('erase-choice').hidden = !state.status?.signedIn;
  /** @type {HTMLInputElement} */ ($('erase-on-signout')).checked = false;
  $('settings').hidden = false;
  $('signin').hidden = true;
}

/** @returns {{settings: import('./ipc.js').Settings, password: string|null}} */
function readSettings() {
  const f = /** @type {HTMLFormElement} */ ($('settings-form'));
  const v = (/** @type {string} */ k) => /** @type {HTMLInputElement} */ (f.elements.namedItem(k)).value.trim();
  const idle = /** @type {HTMLInputElement} */ (f.elements.namedItem('idleLockMinutes'));
  return {
    settings: /** @type {import('./ipc.js').Settings} */ ({
      ...loaded,
      baseUrl: v('baseUrl'),
      clientId: v('clientId'),
      tokenUrl: v('tokenUrl'),
      deviceUrl: v('deviceUrl'),
      authorizeUrl: v('authorizeUrl'),
      signInMethod: /** @type {'device'|'browser'} */ (v('signInMethod')),
      tokenBody: /** @type {'json'|'form'} */ (v('tokenBody')),
      scopes: v('scopes').split(/\s+/).filter(Boolean),
      intervalSecs: Number(v('intervalSecs')) || 45,
      importTarget: v('importTarget'),
      mappingFile: v('mappingFile'),
      notifyNewNotes: /** @type {HTMLInputElement} */ (f.elements.namedItem('notifyNewNotes')).checked,
      closeToTray: /** @type {HTMLInputElement} */ (f.elements.namedItem('closeToTray')).checked,
      startAtLogin: /** @type {HTMLInputElement} */ (f.elements.namedItem('startAtLogin')).checked,
      retentionDays: Number(v('retentionDays')) || 30,
      idleLockMinutes: idle.disabled ? (loaded?.idleLockMinutes ?? 10) : Number(v('idleLockMinutes')) || 10,
    }),
    password: v('password') || null,
  };
}

/** @param {string} text @param {boolean} ok */
function settingsResult(text, ok) {
  const box = $('settings-result');
  box.hidden = false;
  box.className = `result ${ok ? 'ok' : 'warn'}`;
  box.textContent = text;
}

export function closeSettings() {
  $('settings').hidden = true;
  afterClose();
}

/**
 * Hooks the pane's buttons up; `onClose` redraws what the pane covered.
 * @param {() => void} onClose
 */
export function wireSettings(onClose) {
  afterClose = onClose;
  $('btn-settings-cancel').addEventListener('click', closeSettings);
  $('btn-settings-pin').addEventListener('click', () => {
    $('settings').hidden = true;
    openPinSetup(onClose);
  });
  $('btn-signout').addEventListener('click', async () => {
    try {
      // With the erase the app restarts; the window goes with it.
      await ipc.signOut(/** @type {HTMLInputElement} */ ($('erase-on-signout')).checked);
      closeSettings();
    } catch (e) {
      settingsResult(/** @type {CmdError} */ (e).message, false);
    }
  });
  $('settings-form').addEventListener('submit', async (/** @type {Event} */ e) => {
    e.preventDefault();
    const { settings, password } = readSettings();
    try {
      await ipc.saveSettings(settings, password);
      settingsResult('Saved.', true);
    } catch (err) {
      settingsResult(/** @type {CmdError} */ (err).message, false);
    }
  });
  $('btn-test').addEventListener('click', async () => {
    const { settings, password } = readSettings();
    settingsResult('Testing…', true);
    try {
      const r = await ipc.testConnection(settings, password);
      const lines = [`${r.askara.ok ? '✓' : '✗'} ${r.askara.message}`];
      if (r.target) lines.push(`${r.target.ok ? '✓' : '✗'} ${r.target.message}`);
      settingsResult(lines.join('\n'), r.askara.ok && (r.target?.ok ?? true));
    } catch (err) {
      settingsResult(/** @type {CmdError} */ (err).message, false);
    }
  });
}
