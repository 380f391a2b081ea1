// @ts-check
// The settings pane: where the inbox is (this computer, or the clinic server's shared inbox,
// its password to the keyring), Askara's addresses and sign-in method, the practice database
// (its password goes to the keyring), notifications; save, test the connections, sign out.
import { ipc } from './ipc.js';
import { el, setText } from './dom.js';
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
  /** @type {HTMLInputElement} */ (f.elements.namedItem('inboxPassword')).value = '';
  loaded = s;
  showInboxPlace(isClinicUrl(s.inboxUrl) ? 'clinic' : 'local');
  // The demo keeps its synthetic inbox on this computer.
  $('inbox-place').hidden = !!state.info?.demo;
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

/** A clinic server's URL (a shared inbox on PostgreSQL). @param {string} url */
export function isClinicUrl(url) {
  return /^postgres(ql)?:/i.test(url.trim());
}

/** The place chosen in the pane: 'local' or 'clinic'. */
function inboxPlace() {
  const f = /** @type {HTMLFormElement} */ ($('settings-form'));
  const chosen = f.querySelector('input[name="inboxPlace"]:checked');
  return chosen instanceof HTMLInputElement && chosen.value === 'clinic' ? 'clinic' : 'local';
}

/**
 * Shows the place `place` as chosen, with the clinic server's fields when it is the clinic.
 * Read-only when `--inbox` or ASKARA_INBOX_URL chose the inbox at start.
 * @param {'local'|'clinic'} place
 */
function showInboxPlace(place) {
  const f = /** @type {HTMLFormElement} */ ($('settings-form'));
  for (const r of f.querySelectorAll('input[name="inboxPlace"]')) {
    if (r instanceof HTMLInputElement) r.checked = r.value === place;
  }
  $('inbox-clinic').hidden = place !== 'clinic';
  setText($('inbox-test-result'), '');
  const setBy = state.info?.inboxSetBy ?? null;
  for (const name of ['inboxUrl', 'inboxPassword']) {
    const input = /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
    input.disabled = !!setBy;
  }
  for (const r of f.querySelectorAll('input[name="inboxPlace"]')) {
    if (r instanceof HTMLInputElement) r.disabled = !!setBy;
  }
  $('inbox-note').textContent = setBy
    ? `${setBy} chose where the inbox is when Askara Inbox started${state.info?.clinic ? ' (the clinic server)' : ' (this computer)'}: this setting applies once it is gone.`
    : 'Changing where the inbox is restarts Askara Inbox.';
}

/**
 * The inbox URL the pane says: the clinic server's, or this computer's ('', or a sqlite:
 * folder written in the file, which stays as it was).
 */
function readInboxUrl() {
  const f = /** @type {HTMLFormElement} */ ($('settings-form'));
  if (inboxPlace() === 'clinic') {
    return /** @type {HTMLInputElement} */ (f.elements.namedItem('inboxUrl')).value.trim();
  }
  const was = loaded?.inboxUrl ?? '';
  return isClinicUrl(was) ? '' : was;
}

/** @returns {{settings: import('./ipc.js').Settings, password: string|null, inboxPassword: string|null}} */
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
      // While --inbox or ASKARA_INBOX_URL chose the inbox, the setting stays as it was.
      inboxUrl: state.info?.inboxSetBy ? (loaded?.inboxUrl ?? '') : readInboxUrl(),
    }),
    password: v('password') || null,
    inboxPassword: (inboxPlace() === 'clinic' && v('inboxPassword')) || null,
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
  for (const r of document.querySelectorAll('input[name="inboxPlace"]')) {
    r.addEventListener('change', () => showInboxPlace(inboxPlace()));
  }
  $('btn-test-inbox').addEventListener('click', async () => {
    const { settings, inboxPassword } = readSettings();
    const out = $('inbox-test-result');
    out.className = 'muted';
    setText(out, 'Testing…');
    try {
      const r = await ipc.testInboxConnection(settings.inboxUrl, inboxPassword);
      out.className = r.ok ? 'ok' : 'warn';
      setText(out, `${r.ok ? '✓' : '✗'} ${r.message}`);
    } catch (err) {
      out.className = 'warn';
      setText(out, `✗ ${/** @type {CmdError} */ (err).message}`);
    }
  });
  $('settings-form').addEventListener('submit', async (/** @type {Event} */ e) => {
    e.preventDefault();
    const { settings, password, inboxPassword } = readSettings();
    const moves = !state.info?.demo && !state.info?.inboxSetBy
      && (settings.inboxUrl.trim() !== (loaded?.inboxUrl ?? '').trim() || !!inboxPassword);
    try {
      await ipc.saveSettings(settings, password, inboxPassword);
      settingsResult(moves ? 'Saved. Askara Inbox restarts to open the inbox there…' : 'Saved.', true);
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
